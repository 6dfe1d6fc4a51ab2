package magicpig.transport;

/**
 * Where an attention shard listens, as its node advertises it to whoever places blocks: the same
 * {@link ShardEndpoint} stream is subscribed on an IPC channel, for workers on the same media driver,
 * and on a UDP channel, for everyone else. Plain data, serialized inside the cluster's messages.
 *
 * @param shardName      the name the shard gives in its Hello (and in its errors)
 * @param node           the cluster address of its node (host:port), for logs and placement
 * @param aeronDirectory the directory of the media driver the shard's node uses
 * @param ipcChannel     {@code aeron:ipc}, reachable only through that driver
 * @param udpChannel     {@code aeron:udp?endpoint=HOST:PORT}, reachable from any host
 * @param streamId       the shard's stream on both channels
 */
public record ShardAddress(String shardName, String node, String aeronDirectory, String ipcChannel, String udpChannel,
                           int streamId) {

    /**
     * The channel a client whose media driver keeps its files in {@code localAeronDirectory} should
     * send on: IPC when it is the shard's own driver (same host and driver), UDP otherwise.
     */
    public String channelFor(String localAeronDirectory) {
        return aeronDirectory != null && aeronDirectory.equals(localAeronDirectory) ? ipcChannel : udpChannel;
    }

    @Override
    public String toString() {
        return "shard '" + shardName + "' on " + node + " (" + (udpChannel != null ? udpChannel : ipcChannel) + " stream " + streamId + ")";
    }
}

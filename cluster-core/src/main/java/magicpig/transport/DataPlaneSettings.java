package magicpig.transport;

import io.aeron.driver.ThreadingMode;
import java.time.Duration;

/**
 * Settings of the data plane; {@link #defaults()} then {@code with...} to change one.
 *
 * @param aeronDirectoryName where the media driver keeps its files; null for
 *                           {@link AeronDataPlane#launchEmbedded} means a fresh directory under
 *                           /dev/shm (or the temp dir), deleted on close
 * @param termLength         bytes per term of each publication of an embedded driver (power of two,
 *                           64 KiB..1 GiB); a message may be up to termLength / 8, and each
 *                           publication maps 3 terms. 4 MiB allows 512 KiB messages
 * @param mtuLength          bytes per UDP frame of an embedded driver (multiple of 32, 4 KiB..65,504);
 *                           0 keeps Aeron's 1,408, which avoids IP fragmentation on a 1,500-byte
 *                           Ethernet MTU. Raise it only on networks with jumbo frames (or loopback)
 * @param ipcMtuLength       bytes per IPC frame of an embedded driver; the default 65,504 (the most
 *                           Aeron allows) puts a whole query or reply in one frame, so the receiver
 *                           reads it in place instead of reassembling ~20 fragments; 0 keeps 1,408.
 *                           Both MTUs are capped at termLength / 8, as Aeron requires
 * @param socketBufferLength UDP socket send and receive buffers of an embedded driver, and the
 *                           receiver's initial flow-control window (capped at termLength / 2); 0 keeps
 *                           Aeron's 128 KiB. Flow control keeps a sender within the receiver's window,
 *                           so this bounds the bytes in flight per stream: raise it for links with a
 *                           large bandwidth-delay product (the OS caps it at net.core.rmem_max / wmem_max).
 *                           On the loopback 2 MiB measured no better than the default
 * @param driverThreading    threading of an embedded driver; SHARED is one thread for conductor,
 *                           sender and receiver (right for small hosts)
 * @param driverIdle         how the embedded driver's threads wait
 * @param shardIdle          how a shard's duty cycle waits
 * @param workerIdle         how a worker waits for replies on its own thread
 * @param connectTimeout     handshake limit: publication connected and the shard's Hello back
 * @param offerTimeout       how long an offer may stay back-pressured before it fails
 * @param replyTimeout       default limit of {@link WorkerEndpoint#awaitReplies}
 * @param chunkPayloadBytes  payload bytes per {@link magicpig.wire.BlockChunk}; 0 sizes chunks to
 *                           fill one frame (MTU) exactly, which a shard consumes without reassembly
 *                           copies; larger values are capped below the publication's max message length
 * @param maxTransferBytes   the largest chunked transfer a shard accepts
 */
public record DataPlaneSettings(
    String aeronDirectoryName,
    int termLength,
    int mtuLength,
    int ipcMtuLength,
    int socketBufferLength,
    ThreadingMode driverThreading,
    IdlePolicy driverIdle,
    IdlePolicy shardIdle,
    IdlePolicy workerIdle,
    Duration connectTimeout,
    Duration offerTimeout,
    Duration replyTimeout,
    int chunkPayloadBytes,
    int maxTransferBytes) {

    public DataPlaneSettings {
        if (termLength < 64 * 1024 || termLength > 1 << 30 || Integer.bitCount(termLength) != 1) {
            throw new IllegalArgumentException("termLength must be a power of two in [64 KiB, 1 GiB]: " + termLength);
        }
        checkMtu("mtuLength", mtuLength);
        checkMtu("ipcMtuLength", ipcMtuLength);
        if (socketBufferLength < 0) {
            throw new IllegalArgumentException("socketBufferLength must be >= 0: " + socketBufferLength);
        }
        if (chunkPayloadBytes < 0 || maxTransferBytes < 1) {
            throw new IllegalArgumentException("chunkPayloadBytes >= 0 and maxTransferBytes >= 1 required");
        }
    }

    private static void checkMtu(String name, int value) {
        if (value != 0 && (value < 4096 || value > 65_504 || value % 32 != 0)) {
            throw new IllegalArgumentException(name + " must be 0 or a multiple of 32 in [4096, 65504]: " + value);
        }
    }

    public static DataPlaneSettings defaults() {
        return new DataPlaneSettings(null, 4 << 20, 0, 65_504, 0, ThreadingMode.SHARED, IdlePolicy.BACKOFF,
            IdlePolicy.BACKOFF, IdlePolicy.BACKOFF, Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(2),
            0, 1 << 30);
    }

    public DataPlaneSettings withAeronDirectoryName(String value) {
        return new DataPlaneSettings(value, termLength, mtuLength, ipcMtuLength, socketBufferLength,
            driverThreading, driverIdle, shardIdle, workerIdle, connectTimeout, offerTimeout, replyTimeout,
            chunkPayloadBytes, maxTransferBytes);
    }

    public DataPlaneSettings withTermLength(int value) {
        return new DataPlaneSettings(aeronDirectoryName, value, mtuLength, ipcMtuLength, socketBufferLength,
            driverThreading, driverIdle, shardIdle, workerIdle, connectTimeout, offerTimeout, replyTimeout,
            chunkPayloadBytes, maxTransferBytes);
    }

    public DataPlaneSettings withMtuLength(int value) {
        return new DataPlaneSettings(aeronDirectoryName, termLength, value, ipcMtuLength, socketBufferLength,
            driverThreading, driverIdle, shardIdle, workerIdle, connectTimeout, offerTimeout, replyTimeout,
            chunkPayloadBytes, maxTransferBytes);
    }

    public DataPlaneSettings withIpcMtuLength(int value) {
        return new DataPlaneSettings(aeronDirectoryName, termLength, mtuLength, value, socketBufferLength,
            driverThreading, driverIdle, shardIdle, workerIdle, connectTimeout, offerTimeout, replyTimeout,
            chunkPayloadBytes, maxTransferBytes);
    }

    public DataPlaneSettings withSocketBufferLength(int value) {
        return new DataPlaneSettings(aeronDirectoryName, termLength, mtuLength, ipcMtuLength, value,
            driverThreading, driverIdle, shardIdle, workerIdle, connectTimeout, offerTimeout, replyTimeout,
            chunkPayloadBytes, maxTransferBytes);
    }

    public DataPlaneSettings withDriverThreading(ThreadingMode value) {
        return new DataPlaneSettings(aeronDirectoryName, termLength, mtuLength, ipcMtuLength, socketBufferLength,
            value, driverIdle, shardIdle, workerIdle, connectTimeout, offerTimeout, replyTimeout,
            chunkPayloadBytes, maxTransferBytes);
    }

    public DataPlaneSettings withConnectTimeout(Duration value) {
        return new DataPlaneSettings(aeronDirectoryName, termLength, mtuLength, ipcMtuLength, socketBufferLength,
            driverThreading, driverIdle, shardIdle, workerIdle, value, offerTimeout, replyTimeout,
            chunkPayloadBytes, maxTransferBytes);
    }

    public DataPlaneSettings withOfferTimeout(Duration value) {
        return new DataPlaneSettings(aeronDirectoryName, termLength, mtuLength, ipcMtuLength, socketBufferLength,
            driverThreading, driverIdle, shardIdle, workerIdle, connectTimeout, value, replyTimeout,
            chunkPayloadBytes, maxTransferBytes);
    }

    public DataPlaneSettings withReplyTimeout(Duration value) {
        return new DataPlaneSettings(aeronDirectoryName, termLength, mtuLength, ipcMtuLength, socketBufferLength,
            driverThreading, driverIdle, shardIdle, workerIdle, connectTimeout, offerTimeout, value,
            chunkPayloadBytes, maxTransferBytes);
    }

    public DataPlaneSettings withChunkPayloadBytes(int value) {
        return new DataPlaneSettings(aeronDirectoryName, termLength, mtuLength, ipcMtuLength, socketBufferLength,
            driverThreading, driverIdle, shardIdle, workerIdle, connectTimeout, offerTimeout, replyTimeout, value,
            maxTransferBytes);
    }

    public DataPlaneSettings withMaxTransferBytes(int value) {
        return new DataPlaneSettings(aeronDirectoryName, termLength, mtuLength, ipcMtuLength, socketBufferLength,
            driverThreading, driverIdle, shardIdle, workerIdle, connectTimeout, offerTimeout, replyTimeout,
            chunkPayloadBytes, value);
    }

    /** Sets the idle policy of the driver, the shards and the worker at once. */
    public DataPlaneSettings withIdle(IdlePolicy value) {
        return new DataPlaneSettings(aeronDirectoryName, termLength, mtuLength, ipcMtuLength, socketBufferLength,
            driverThreading, value, value, value, connectTimeout, offerTimeout, replyTimeout, chunkPayloadBytes,
            maxTransferBytes);
    }
}

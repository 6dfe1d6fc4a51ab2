package magicpig.shard;

import magicpig.transport.ShardEndpoint;
import org.agrona.CloseHelper;
import org.agrona.concurrent.Agent;

/**
 * The duty cycle of one attention shard: the commands other threads submitted to its service, then
 * the endpoints it listens on (its IPC and UDP channels, one stream), all on one thread, so the
 * shard's store has a single owner. Closing it closes the endpoints and frees the store.
 */
final class ShardAgent implements Agent {
    private final ShardService service;
    private final ShardEndpoint[] endpoints;

    ShardAgent(ShardService service, ShardEndpoint... endpoints) {
        this.service = service;
        this.endpoints = endpoints;
    }

    @Override
    public int doWork() {
        int work = service.runCommands();
        for (ShardEndpoint e : endpoints) work += e.doWork();
        return work;
    }

    @Override
    public void onClose() {
        for (ShardEndpoint e : endpoints) CloseHelper.quietClose(e);
        service.runCommands();
        service.store().close();
    }

    @Override
    public String roleName() {
        return "attention-shard-" + service.name();
    }
}

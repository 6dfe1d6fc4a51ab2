package magicpig.gateway;

import java.util.Set;
import magicpig.worker.TransformerWorker;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * What the cluster can serve now: the transformer workers the receptionist lists (reachable ones
 * only), and whether a cpu-attention node is up for the attention modes that need one. Readiness
 * and the admission bound read it.
 */
final class ClusterCapacity {
    private final ActorSystem<?> system;
    private final boolean needsAttentionHosts;
    private volatile Set<ActorRef<TransformerWorker.Command>> workers = Set.of();

    /** @param attentionMode the cluster's default decode attention; anything but dense needs cpu-attention nodes */
    ClusterCapacity(ActorSystem<?> system, String attentionMode) {
        this.system = system;
        this.needsAttentionHosts = !attentionMode.equals("dense");
        Behavior<Receptionist.Listing> watcher = Behaviors.setup(ctx -> {
            ctx.getSystem().receptionist().tell(Receptionist.subscribe(TransformerWorker.KEY, ctx.getSelf()));
            return Behaviors.receiveMessage(listing -> {
                workers = Set.copyOf(listing.getServiceInstances(TransformerWorker.KEY));
                return Behaviors.same();
            });
        });
        system.systemActorOf(watcher, "gateway-capacity", Props.empty());
    }

    int workers() {
        return workers.size();
    }

    /** Null when the cluster can serve; else why not. */
    String notReady() {
        if (workers.isEmpty()) return "no transformer worker is up in the cluster yet";
        if (needsAttentionHosts && !attentionHostUp()) return "the cluster's attention mode needs a cpu-attention node, and none is up";
        return null;
    }

    private boolean attentionHostUp() {
        for (var m : Cluster.get(system).state().getMembers()) {
            if (m.hasRole("cpu-attention") && m.status() == MemberStatus.up()) return true;
        }
        return false;
    }
}

package magicpig.gateway;

import java.util.Set;
import magicpig.worker.TransformerWorker;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * The transformer workers the cluster has up, as the receptionist lists them (reachable ones only).
 * Readiness and the admission bound read it.
 */
final class WorkerDirectory {
    private volatile Set<ActorRef<TransformerWorker.Command>> workers = Set.of();

    WorkerDirectory(ActorSystem<?> system) {
        Behavior<Receptionist.Listing> watcher = Behaviors.setup(ctx -> {
            ctx.getSystem().receptionist().tell(Receptionist.subscribe(TransformerWorker.KEY, ctx.getSelf()));
            return Behaviors.receiveMessage(listing -> {
                workers = Set.copyOf(listing.getServiceInstances(TransformerWorker.KEY));
                return Behaviors.same();
            });
        });
        system.systemActorOf(watcher, "gateway-workers", Props.empty());
    }

    int count() {
        return workers.size();
    }

    Set<ActorRef<TransformerWorker.Command>> workers() {
        return workers;
    }
}

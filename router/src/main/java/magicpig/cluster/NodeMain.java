package magicpig.cluster;

import com.typesafe.config.ConfigFactory;
import java.util.concurrent.CountDownLatch;

/**
 * Starts one cluster node from {@code path=value} arguments (HOCON), for tests and tools that launch
 * nodes as separate JVMs. Prints "NODE UP <address>" on standard output once the node runs, and
 * stops when standard input closes or the process is killed.
 */
public final class NodeMain {
    private NodeMain() {}

    public static void main(String[] args) throws Exception {
        StringBuilder hocon = new StringBuilder();
        for (String a : args) hocon.append(a).append('\n');
        ClusterNode node = ClusterNode.start(ConfigFactory.parseString(hocon.toString()));
        CountDownLatch stopped = new CountDownLatch(1);
        node.system().getWhenTerminated().thenRun(stopped::countDown);
        Runtime.getRuntime().addShutdownHook(new Thread(node.system()::terminate));
        System.out.println("NODE UP " + node.system().address());
        System.out.flush();
        Thread stdin = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // wait for the parent to close our input
                }
            } catch (Exception ignored) {
                // treat as closed
            }
            node.system().terminate();
        }, "stdin-watch");
        stdin.setDaemon(true);
        stdin.start();
        stopped.await();
        node.close();
        System.exit(0);
    }
}

package magicpig.wire;

/**
 * Marks a record that crosses between cluster nodes as a Pekko message. Every such message is
 * serialized with Jackson CBOR (bound in the cluster configuration); Java serialization is off.
 */
public interface ClusterMessage {}

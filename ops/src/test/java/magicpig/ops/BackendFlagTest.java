package magicpig.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import magicpig.cuda.CudaProbe;
import org.junit.jupiter.api.Test;

/** --backend auto|cuda|cpu as a user meets it on a machine without a GPU. */
class BackendFlagTest {

    @Test
    void cudaWithoutAGpuIsOneLineAndStatus2() {
        assumeFalse(CudaProbe.get().available(), "this machine has a CUDA device");
        MainTest.Run r = MainTest.run("generate", "--model", "synthetic:tiny", "--prompt-ids", "1,2", "--max-tokens", "1", "--backend", "cuda");
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().startsWith("magicpig: error: --backend cuda: no usable CUDA device: "), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        assertEquals("", r.out());
    }

    @Test
    void autoWithoutAGpuGeneratesOnTheCpu() {
        MainTest.Run auto = MainTest.run("generate", "--model", "synthetic:tiny", "--prompt-ids", "1,2,3", "--max-tokens", "4", "--ids",
                "--temperature", "0", "--backend", "auto");
        MainTest.Run cpu = MainTest.run("generate", "--model", "synthetic:tiny", "--prompt-ids", "1,2,3", "--max-tokens", "4", "--ids",
                "--temperature", "0", "--backend", "cpu");
        assertEquals(0, auto.status(), auto.err());
        assertEquals(cpu.out(), auto.out(), "the same greedy tokens");
    }

    @Test
    void unknownBackendIsAUsageError() {
        MainTest.Run r = MainTest.run("generate", "--model", "synthetic:tiny", "--backend", "tpu");
        assertEquals(2, r.status());
        assertTrue(r.err().startsWith("magicpig: --backend must be auto, cuda or cpu, got 'tpu'"), r.err());
    }
}

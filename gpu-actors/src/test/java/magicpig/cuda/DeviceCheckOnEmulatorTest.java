package magicpig.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import magicpig.model.Llama;
import magicpig.model.Model;
import magicpig.model.SyntheticModels;
import magicpig.tensor.GgmlType;
import org.junit.jupiter.api.Test;

/**
 * DeviceCheck's parity, batch and throughput parts on the emulator, with tiny shapes: the code a GPU
 * session runs for the first time is run here first (its tolerances, its tables, its verdict).
 */
class DeviceCheckOnEmulatorTest {

    @Test
    void partsPassAndReport() throws Exception {
        String why = EmulatedDevice.unavailable();
        assumeTrue(why == null, () -> why);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DeviceCheck check = new DeviceCheck(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try (Model m = SyntheticModels.create("tiny", GgmlType.Q8_0, 42)) {
            Llama cpu = EmulatedKernelsTest.cut(m, 1);
            try (CudaBackend gpu = CudaBackend.on(EmulatedDevice.open(), cpu.config(), cpu.weights(), 8)) {
                check.bandwidth = 1e9; // the emulator's "bandwidth": any positive number
                check.throughputPrompt = 3;
                check.batchPromptStep = 2;
                check.checkKernels(gpu);
                check.checkParity("synthetic:tiny/1 layer", "prompt 10", cpu, gpu, DeviceCheck.promptOf(10, cpu.config()), 2);
                check.checkBatchParity("synthetic:tiny/1 layer", cpu, gpu, 2, 2);
                check.throughput("synthetic:tiny/1 layer", GgmlType.Q8_0, gpu, 2, false);
            }
        }
        int status = check.report();
        if (System.getenv("MAGICPIG_EMU_PROFILE") != null) System.err.println(bytes.toString(StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, out);
        assertTrue(out.strip().endsWith("DEVICE CHECK PASSED"), out);
        assertTrue(out.contains("| synthetic:tiny/1 layer | Q8_0 | prompt 10 | 2 |"), out);
        assertTrue(out.contains("batched decode, 2 sessions"), out);
        assertTrue(out.contains("| matvec Q8_0 swiglu+residual, 5 rows |") && out.contains("| attention, 1-3 splits merged (half-split rope) |"), out);
        assertTrue(!out.contains("| NO |"), out);
        assertTrue(out.contains("| kernel by kernel |") && out.contains("| CUDA graph |"), out);
    }
}

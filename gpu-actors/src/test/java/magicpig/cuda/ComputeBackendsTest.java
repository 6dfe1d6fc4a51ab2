package magicpig.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import magicpig.model.ComputeBackend;
import magicpig.model.Model;
import magicpig.model.SyntheticModels;
import magicpig.tensor.GgmlType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** --backend auto|cuda|cpu on a machine without a usable GPU (the tests that need one skip on a GPU machine). */
class ComputeBackendsTest {
    private static Model model;

    @BeforeAll
    static void open() {
        model = SyntheticModels.create("tiny", GgmlType.F32, 42);
    }

    @AfterAll
    static void close() throws Exception {
        model.close();
    }

    @Test
    void cpuIsTheModelsOwnForwardPass() {
        assertSame(model.llama(), ComputeBackends.select("cpu", model));
    }

    @Test
    void autoWithoutAGpuFallsBackToTheCpuSayingWhyInOneLine() {
        CudaProbe probe = CudaProbe.get();
        assumeFalse(probe.available(), "this machine has a CUDA device");
        Logger logger = (Logger) LoggerFactory.getLogger(ComputeBackends.class);
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        logger.addAppender(logged);
        try {
            ComputeBackend b = ComputeBackends.select("auto", model);
            assertSame(model.llama(), b);
            assertEquals(1, logged.list.size(), "one log line: " + logged.list);
            String line = logged.list.get(0).getFormattedMessage();
            assertTrue(line.contains("using the CPU") && line.contains(probe.reason()), line);
            assertEquals(1, line.lines().count(), "a single line: " + line);
        } finally {
            logger.detachAppender(logged);
        }
    }

    @Test
    void cudaWithoutAGpuIsAClearError() {
        CudaProbe probe = CudaProbe.get();
        assumeFalse(probe.available(), "this machine has a CUDA device");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ComputeBackends.select("cuda", model));
        assertTrue(e.getMessage().startsWith("--backend cuda: no usable CUDA device: "), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), "one line: " + e.getMessage());
    }

    @Test
    void probeReasonIsOneLine() {
        CudaProbe probe = CudaProbe.get();
        assumeFalse(probe.available(), "this machine has a CUDA device");
        assertEquals(1, probe.reason().lines().count(), probe.reason());
        assertSame(probe, CudaProbe.get(), "probed once");
    }

    @Test
    void unknownModeIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ComputeBackends.select("tpu", model));
        assertTrue(e.getMessage().contains("auto, cuda or cpu"), e.getMessage());
    }
}

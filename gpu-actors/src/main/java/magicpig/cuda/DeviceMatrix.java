package magicpig.cuda;

import magicpig.tensor.GgmlType;

/**
 * A weight matrix resident on the device, in its file layout: rows x cols, each row
 * {@code rowBytes} of GGML blocks, from {@code address}.
 *
 * @param outOffset where its rows land in the output of the projection it is part of (see
 *                  {@link DeviceModel}: q, k and v share one output row, as do gate and up)
 */
record DeviceMatrix(GgmlType type, long address, int rows, int cols, long rowBytes, int outOffset) {

    /** The kernel type code of common.cuh (T_F32 ...). */
    int typeCode() {
        return CudaKernels.typeCode(type);
    }

    long byteSize() {
        return rowBytes * rows;
    }
}

// The emulator's scheduler and its C entry point, emu_launch(name, grid, block, shared, params),
// which takes kernel parameters as cuLaunchKernel does (an array of pointers to the values).
// Built by the tests together with the kernel sources (see EmulatedDevice).
#include "emu.h"
#include <map>
#include <string>
#include <tuple>
#include <utility>

uint3 threadIdx, blockIdx, blockDim, gridDim;
char* emu_dyn_smem;

namespace {
constexpr int MAX_THREADS = 1024;
constexpr size_t STACK = 64 * 1024;
enum State { RUNNABLE, WAIT_WARP, WAIT_BLOCK, DONE };
struct Fiber { void* sp; State state; };
Fiber fibers[MAX_THREADS];
char* stacks;
void* scheduler_sp;
int current;
int threads;
void (*body)(void**);
void** body_params;
float shuffle[MAX_THREADS];
}

// Saves the callee-saved registers and the stack pointer of the running side into *save, and
// continues the side whose stack pointer is next (x86-64 System V).
extern "C" void emu_swap(void** save, void* next);
asm(R"(
    .text
    .globl emu_swap
    .type emu_swap, @function
emu_swap:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_swap, .-emu_swap
)");

static void wait(State s) {
    fibers[current].state = s;
    emu_swap(&fibers[current].sp, scheduler_sp);
}

void __syncthreads() { wait(WAIT_BLOCK); }
void __syncwarp(unsigned int) { wait(WAIT_WARP); }

float __shfl_xor_sync(unsigned int, float v, int laneMask) {
    int t = current;
    shuffle[t] = v;
    wait(WAIT_WARP);
    int partner = (t & ~31) | ((t & 31) ^ laneMask);
    float r = partner < threads ? shuffle[partner] : v;
    wait(WAIT_WARP);
    return r;
}

static void fiber_main() {
    body(body_params);
    fibers[current].state = DONE;
    emu_swap(&fibers[current].sp, scheduler_sp);
    std::abort(); // a finished fiber is never resumed
}

// Runs one block; returns false on a deadlock (threads waiting at barriers nobody can pass).
static bool run_block() {
    for (int t = 0; t < threads; t++) {
        uintptr_t top = reinterpret_cast<uintptr_t>(stacks + (size_t) (t + 1) * STACK);
        void** sp = reinterpret_cast<void**>((top & ~uintptr_t(15)) - 64);
        for (int r = 0; r < 6; r++) sp[r] = nullptr; // r15 r14 r13 r12 rbx rbp
        sp[6] = reinterpret_cast<void*>(&fiber_main); // "returned" to by emu_swap
        fibers[t].sp = sp;
        fibers[t].state = RUNNABLE;
    }
    while (true) {
        bool ran = false;
        for (int t = 0; t < threads; t++) {
            if (fibers[t].state != RUNNABLE) continue;
            current = t;
            threadIdx = uint3{(unsigned) t, 0, 0};
            emu_swap(&scheduler_sp, fibers[t].sp);
            ran = true;
        }
        int live = 0, atBlock = 0;
        for (int t = 0; t < threads; t++) {
            if (fibers[t].state != DONE) live++;
            if (fibers[t].state == WAIT_BLOCK) atBlock++;
        }
        if (live == 0) return true;
        bool released = false;
        if (atBlock == live) {
            for (int t = 0; t < threads; t++) if (fibers[t].state == WAIT_BLOCK) fibers[t].state = RUNNABLE;
            released = true;
        } else {
            for (int w = 0; w < threads; w += 32) {
                int end = std::min(threads, w + 32), waiting = 0, alive = 0;
                for (int t = w; t < end; t++) {
                    if (fibers[t].state != DONE) alive++;
                    if (fibers[t].state == WAIT_WARP) waiting++;
                }
                if (alive > 0 && waiting == alive) {
                    for (int t = w; t < end; t++) if (fibers[t].state == WAIT_WARP) fibers[t].state = RUNNABLE;
                    released = true;
                }
            }
        }
        if (!ran && !released) return false;
    }
}

template <typename... A, size_t... I>
static void invoke(void (*k)(A...), void** p, std::index_sequence<I...>) {
    k(*reinterpret_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(p[I])...);
}

template <typename... A>
static void invoke(void (*k)(A...), void** p) {
    invoke(k, p, std::index_sequence_for<A...>{});
}

#define EMU_KERNEL(name) {#name, [](void** p) { invoke(name, p); }},
static const std::map<std::string, void (*)(void**)> registry = {
#include "registry.inc"
};

// 0: done; -1: no such kernel; -2: a block deadlocked; -3: bad launch shape.
extern "C" int emu_launch(const char* name, int gridX, int gridY, int block, int sharedBytes, void** params) {
    auto it = registry.find(name);
    if (it == registry.end()) return -1;
    if (block < 1 || block > MAX_THREADS || gridX < 1 || gridY < 1 || sharedBytes < 0) return -3;
    if (stacks == nullptr) stacks = static_cast<char*>(std::malloc((size_t) MAX_THREADS * STACK));
    static char* smem = nullptr;
    static int smemSize = 0;
    if (sharedBytes > smemSize) {
        std::free(smem);
        smem = static_cast<char*>(std::malloc(sharedBytes));
        smemSize = sharedBytes;
    }
    emu_dyn_smem = smem;
    body = it->second;
    body_params = params;
    threads = block;
    gridDim = uint3{(unsigned) gridX, (unsigned) gridY, 1};
    blockDim = uint3{(unsigned) block, 1, 1};
    for (int y = 0; y < gridY; y++) {
        for (int x = 0; x < gridX; x++) {
            blockIdx = uint3{(unsigned) x, (unsigned) y, 0};
            if (!run_block()) return -2;
        }
    }
    return 0;
}

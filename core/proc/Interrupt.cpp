#include "proc/Interrupt.hpp"

#include <atomic>

namespace cacheman {

namespace {

volatile std::sig_atomic_t g_interrupt = 0;

// Read by a signal handler: only a lock-free atomic is safe there.
std::atomic<pid_t> g_child{0};
static_assert(std::atomic<pid_t>::is_always_lock_free);

} // namespace

int interrupted() {
    return g_interrupt;
}

void note_interrupt(int signal) {
    g_interrupt = signal;
}

void forward_interrupt_to_child(int signal, bool from_terminal) {
    const pid_t child = g_child.load();
    if (child > 0 && !from_terminal) {
        kill(child, signal);
    }
}

InterruptTarget::InterruptTarget(pid_t pid) {
    g_child.store(pid);
    if (const int signal = interrupted()) {
        kill(pid, signal); // arrived before the command existed to forward it to
    }
}

InterruptTarget::~InterruptTarget() {
    g_child.store(0);
}

} // namespace cacheman

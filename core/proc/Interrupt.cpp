#include "proc/Interrupt.hpp"

#include <csignal>

namespace cacheman {

namespace {
volatile std::sig_atomic_t g_interrupt = 0;
}

int interrupted() {
    return g_interrupt;
}

void note_interrupt(int signal) {
    g_interrupt = signal;
}

} // namespace cacheman

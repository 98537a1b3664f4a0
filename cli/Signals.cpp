#include "Signals.hpp"

#include "proc/Interrupt.hpp"

#include <csignal>

namespace cacheman::cli {

namespace {

void on_interrupt(int signal, siginfo_t* info, void* /*context*/) {
    note_interrupt(signal);
    forward_interrupt_to_child(signal, info->si_code == SI_KERNEL);
}

} // namespace

void install_run_signal_handlers() {
    for (const int signal : k_interrupt_signals) {
        struct sigaction current {};
        sigaction(signal, nullptr, &current);
        if (current.sa_handler == SIG_IGN) {
            continue; // started ignoring it (a background job): keep ignoring it
        }
        struct sigaction action {};
        action.sa_sigaction = on_interrupt;
        action.sa_flags = SA_SIGINFO;
        sigemptyset(&action.sa_mask);
        sigaction(signal, &action, nullptr);
    }
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, nullptr);
}

} // namespace cacheman::cli

// Interrupts: SIGINT, SIGTERM, SIGHUP and SIGQUIT while cacheman waits or runs a command.
//
// The library never installs a signal handler (a process-wide decision belongs to the program:
// cli/Signals.cpp). It offers the async-signal-safe pieces a handler needs: recording that an
// interrupt arrived, which blocking waits then notice, and forwarding it to the command that
// run_process is running.
#pragma once

#include "base/Error.hpp"

#include <csignal>
#include <sys/types.h>

namespace cacheman {

// The signals that interrupt a wait or a run, in the order a handler is installed for them.
inline constexpr int k_interrupt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// The signal that interrupted the process, or 0.
int interrupted();

// Records that `signal` arrived (async-signal-safe: for a signal handler).
void note_interrupt(int signal);

// Sends `signal` to the command run_process is running, if any, unless `from_terminal`: a
// terminal's Ctrl-C already reached the command, which is in the same process group.
// Async-signal-safe. A handler passes `info->si_code == SI_KERNEL` as `from_terminal`.
void forward_interrupt_to_child(int signal, bool from_terminal);

// While it lives, forward_interrupt_to_child() sends to `pid` (run_process's command). One at a
// time: a process runs one command at a time.
class InterruptTarget {
  public:
    explicit InterruptTarget(pid_t pid);
    ~InterruptTarget();
    InterruptTarget(const InterruptTarget&) = delete;
    InterruptTarget& operator=(const InterruptTarget&) = delete;
};

} // namespace cacheman

// Running a command: directly (no shell), through one spawning path (spawn()), with one way of
// reporting a command that cannot be started, as a POSIX shell does (127 not found, 126 cannot
// execute). Nothing here changes a process-wide signal disposition.
#pragma once

#include "base/Error.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace cacheman {

using OutputSink = std::function<void(std::string_view)>;

// How spawn() starts a command. A file descriptor of -1 shares the caller's.
struct SpawnOptions {
    int stdin_fd = -1;
    int stdout_fd = -1;
    int stderr_fd = -1;
    // "NAME=value" entries added to the caller's environment, replacing NAME there.
    std::vector<std::string> extra_env;
};

// Starts argv (PATH is searched when argv[0] has no '/') and returns its pid; the caller waits
// for it. The command starts with SIGPIPE at its default disposition and no signal blocked,
// whatever the caller's; other dispositions and descriptors without FD_CLOEXEC are inherited.
// Throws SpawnError when it cannot be started: exit_code() 127 when it does not exist (ENOENT,
// ENOTDIR; "NAME: command not found" for a name searched in PATH, "NAME: No such file or
// directory" for a path), else 126 ("NAME: cannot execute: Permission denied", ...).
pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& options = {});

struct ProcessResult {
    int exit_code = 0;   // as a shell reports it: 0-255, or 128+N when killed by signal N
    int signal = 0;      // the signal that killed it, or 0
    double duration = 0; // wall-clock seconds
};

// Runs argv with the caller's stdin (or `stdin_fd`), handing its stdout and stderr to the sinks
// as they arrive.
// While it runs, forward_interrupt_to_child() (proc/Interrupt.hpp) sends to it, and after an
// interrupt it returns as soon as the command has exited. Throws SpawnError as spawn() does.
ProcessResult run_process(const std::vector<std::string>& argv, const OutputSink& on_stdout,
                          const OutputSink& on_stderr, int stdin_fd = -1);

struct FilterResult {
    int exit_code = 0;
    std::string out;
};

// Runs argv as a filter: its stdin read from `stdin_fd` where that file stands (-1: an empty
// stdin), its stdout handed to `on_stdout` as it comes, its stderr passed through to cacheman's,
// with `extra_env` ("NAME=value") added to the environment; returns its exit code. A filter
// that exits without reading all its input is not an error. When `on_stdout` throws, the
// filter is waited for (its next write fails) and the exception goes on. Throws SpawnError as
// spawn() does.
int run_filter(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
               int stdin_fd, const OutputSink& on_stdout);
// The same with `input` on its stdin and its stdout captured.
FilterResult run_filter(const std::vector<std::string>& argv,
                        const std::vector<std::string>& extra_env, std::string_view input);

// Starts argv (a path: PATH is not searched) fully detached: in a session of its own,
// stdin/stdout/stderr on /dev/null, no other descriptor of the caller, the interrupt signals
// and SIGPIPE at their defaults, and not a child of this process (double fork: it holds
// nothing of the caller's and is never left a zombie). Returns whether it started; the
// detached work is best-effort, so a failure is for the caller to ignore or report.
bool spawn_detached(const std::vector<std::string>& argv);

} // namespace cacheman

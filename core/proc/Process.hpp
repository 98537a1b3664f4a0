// Running a command: directly (no shell), with the caller's stdin, its stdout and stderr
// streamed to callbacks as they arrive, and interrupts forwarded to it.
#pragma once

#include "base/Error.hpp"

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cacheman {

using OutputSink = std::function<void(std::string_view)>;

struct ProcessResult {
    int exit_code = 0;   // as a shell reports it: 0-255, or 128+N when killed by signal N
    int signal = 0;      // the signal that killed it, or 0
    double duration = 0; // wall-clock seconds
};

// Runs argv (PATH is searched when argv[0] has no '/'). While it runs, SIGINT, SIGTERM, SIGHUP
// and SIGQUIT sent to cacheman are recorded (see interrupted()) and forwarded to the command,
// unless they came from the terminal, which already sent them to the command's process group.
ProcessResult run_process(const std::vector<std::string>& argv, const OutputSink& on_stdout,
                          const OutputSink& on_stderr);

struct FilterResult {
    int exit_code = 0;
    std::string out;
};

// Runs argv as a filter: `input` on its stdin, its stdout captured, its stderr passed through to
// cacheman's, with `extra_env` ("NAME=value") added to the environment. Throws SpawnError when it
// cannot be started.
FilterResult run_filter(const std::vector<std::string>& argv,
                        const std::vector<std::string>& extra_env, std::string_view input);

// Starts argv fully detached: a new session, stdin/stdout/stderr on /dev/null, not a child of
// this process (double fork), so it holds no pipe of the caller open. Errors are ignored: the
// detached work is best-effort.
void spawn_detached(const std::vector<std::string>& argv);

// Catches the interrupt signals so that an interrupt is recorded instead of killing cacheman.
void install_interrupt_handlers();

} // namespace cacheman

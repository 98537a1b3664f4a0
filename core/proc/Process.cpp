#include "proc/Process.hpp"

#include "base/Spool.hpp"
#include "proc/Interrupt.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace cacheman {

namespace {

struct Pipe {
    int read_end = -1;
    int write_end = -1;
    Pipe() {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) {
            throw SpawnError(std::string("cannot create a pipe: ") + std::strerror(errno), 126);
        }
        read_end = fds[0];
        write_end = fds[1];
    }
    ~Pipe() {
        close_read();
        close_write();
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    void close_read() {
        if (read_end >= 0) {
            ::close(read_end);
            read_end = -1;
        }
    }
    void close_write() {
        if (write_end >= 0) {
            ::close(write_end);
            write_end = -1;
        }
    }
};

// What a POSIX shell reports when it cannot start `name` (dash's codes; bash also says 126 for
// ENOTDIR through a path): 127 when there is no such command, 126 when there is one that cannot
// be executed. `searched`: the name was looked up in PATH.
SpawnError spawn_error(const std::string& name, int error, bool searched) {
    if (error == ENOENT || error == ENOTDIR) {
        return {name + (searched ? std::string(": command not found")
                                 : ": " + std::string(std::strerror(error))),
                127};
    }
    struct stat status {};
    // execve says EACCES for a directory; that it is a directory is what the user can act on.
    if (error == EACCES && !searched && ::stat(name.c_str(), &status) == 0 &&
        S_ISDIR(status.st_mode)) {
        error = EISDIR;
    }
    return {name + ": cannot execute: " + std::strerror(error), 126};
}

// One start of a command, prepared in full before it (argv and environment arrays, posix_spawn's
// file actions and attributes), so that start() allocates nothing and may run in a forked child.
// It points into `argv` and `options`, which must outlive it.
class SpawnPlan {
  public:
    SpawnPlan(const std::vector<std::string>& argv, const SpawnOptions& options, bool search_path)
        : m_search_path(search_path) {
        if (argv.empty()) {
            throw SpawnError("cannot run an empty command", 127);
        }
        m_args.reserve(argv.size() + 1);
        for (const auto& arg : argv) {
            m_args.push_back(const_cast<char*>(arg.c_str()));
        }
        m_args.push_back(nullptr);
        if (!options.extra_env.empty()) {
            m_env = environment_with(options.extra_env);
        }
        posix_spawn_file_actions_init(&m_actions);
        posix_spawnattr_init(&m_attributes);
        redirect(options.stdin_fd, STDIN_FILENO);
        redirect(options.stdout_fd, STDOUT_FILENO);
        redirect(options.stderr_fd, STDERR_FILENO);
        // The command starts as from a shell, not with what cacheman blocked or ignored for itself.
        sigset_t none;
        sigemptyset(&none);
        posix_spawnattr_setsigmask(&m_attributes, &none);
        sigemptyset(&m_defaults);
        reset_to_default(SIGPIPE);
        posix_spawnattr_setflags(&m_attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    }
    ~SpawnPlan() {
        posix_spawn_file_actions_destroy(&m_actions);
        posix_spawnattr_destroy(&m_attributes);
    }
    SpawnPlan(const SpawnPlan&) = delete;
    SpawnPlan& operator=(const SpawnPlan&) = delete;

    void reset_to_default(int signal) {
        sigaddset(&m_defaults, signal);
        posix_spawnattr_setsigdefault(&m_attributes, &m_defaults);
    }
    void open_dev_null(int fd) {
        posix_spawn_file_actions_addopen(&m_actions, fd, "/dev/null", O_RDWR, 0);
    }

    // Starts the command: 0 and its pid, or the error number. Allocates nothing.
    int start(pid_t& pid) noexcept {
        char* const* env = m_env.empty() ? environ : m_env.data();
        return m_search_path
                   ? posix_spawnp(&pid, m_args[0], &m_actions, &m_attributes, m_args.data(), env)
                   : posix_spawn(&pid, m_args[0], &m_actions, &m_attributes, m_args.data(), env);
    }

    // Starts the command and returns its pid; throws SpawnError when it cannot be started.
    pid_t start_or_throw() {
        pid_t pid = 0;
        if (const int error = start(pid)) {
            const std::string name = m_args[0];
            throw spawn_error(name, error, m_search_path && name.find('/') == std::string::npos);
        }
        return pid;
    }

  private:
    static std::vector<char*> environment_with(const std::vector<std::string>& extra) {
        std::vector<char*> env;
        for (char** entry = environ; *entry != nullptr; ++entry) {
            const std::string_view name(*entry, std::strcspn(*entry, "="));
            const bool replaced = std::any_of(extra.begin(), extra.end(), [&](const auto& e) {
                return std::string_view(e).substr(0, e.find('=')) == name;
            });
            if (!replaced) {
                env.push_back(*entry);
            }
        }
        for (const auto& entry : extra) {
            env.push_back(const_cast<char*>(entry.c_str()));
        }
        env.push_back(nullptr);
        return env;
    }

    void redirect(int from, int to) {
        if (from >= 0) {
            posix_spawn_file_actions_adddup2(&m_actions, from, to);
        }
    }

    std::vector<char*> m_args;
    std::vector<char*> m_env; // empty: the caller's environment as it is at start()
    posix_spawn_file_actions_t m_actions{};
    posix_spawnattr_t m_attributes{};
    sigset_t m_defaults{};
    bool m_search_path;
};

// Reads from both pipes until both are closed, handing each chunk to its sink at once. After an
// interrupt, stops as soon as the command itself has exited, even if a process it left behind
// still holds the pipes open. Returns the command's wait status when it was reaped here.
std::optional<int> pump(pid_t pid, Pipe& out, Pipe& err, const OutputSink& on_stdout,
                        const OutputSink& on_stderr) {
    char buffer[1 << 16];
    while (out.read_end >= 0 || err.read_end >= 0) {
        if (interrupted()) {
            int status = 0;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                return status;
            }
        }
        pollfd fds[2] = {{out.read_end, POLLIN, 0}, {err.read_end, POLLIN, 0}};
        if (poll(fds, 2, interrupted() ? 50 : -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return std::nullopt;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) {
                continue;
            }
            Pipe& pipe = i == 0 ? out : err;
            const ssize_t got = ::read(pipe.read_end, buffer, sizeof buffer);
            if (got > 0) {
                (i == 0 ? on_stdout
                        : on_stderr)(std::string_view(buffer, static_cast<std::size_t>(got)));
            } else if (got == 0 || errno != EINTR) {
                pipe.close_read();
            }
        }
    }
    return std::nullopt;
}

int exit_code_of(int status, int& signal) {
    if (WIFSIGNALED(status)) {
        signal = WTERMSIG(status);
        return 128 + signal;
    }
    return WEXITSTATUS(status);
}

int wait_for(pid_t pid, int& signal) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return 126;
        }
    }
    return exit_code_of(status, signal);
}

} // namespace

pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
    SpawnPlan plan(argv, options, true);
    return plan.start_or_throw();
}

ProcessResult run_process(const std::vector<std::string>& argv, const OutputSink& on_stdout,
                          const OutputSink& on_stderr, int stdin_fd) {
    Pipe out;
    Pipe err;
    SpawnOptions options;
    options.stdin_fd = stdin_fd;
    options.stdout_fd = out.write_end;
    options.stderr_fd = err.write_end;

    const auto start = std::chrono::steady_clock::now();
    const pid_t pid = spawn(argv, options);
    const InterruptTarget target(pid);
    out.close_write();
    err.close_write();
    const auto reaped = pump(pid, out, err, on_stdout, on_stderr);

    ProcessResult result;
    result.exit_code = reaped ? exit_code_of(*reaped, result.signal) : wait_for(pid, result.signal);
    result.duration =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

int run_filter(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
               int stdin_fd, const OutputSink& on_stdout) {
    Pipe out;
    const int nothing = stdin_fd < 0 ? ::open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
    struct Closer {
        int fd;
        ~Closer() {
            if (fd >= 0) {
                ::close(fd);
            }
        }
    } closer{nothing};
    SpawnOptions options;
    options.stdin_fd = stdin_fd < 0 ? nothing : stdin_fd;
    options.stdout_fd = out.write_end;
    options.extra_env = extra_env;
    const pid_t pid = spawn(argv, options);
    out.close_write();
    int signal = 0;
    try {
        char buffer[1 << 16];
        while (true) {
            const ssize_t got = ::read(out.read_end, buffer, sizeof buffer);
            if (got > 0) {
                on_stdout(std::string_view(buffer, static_cast<std::size_t>(got)));
            } else if (got == 0 || errno != EINTR) {
                break;
            }
        }
    } catch (...) {
        out.close_read(); // the filter's next write fails: it ends
        wait_for(pid, signal);
        throw;
    }
    out.close_read();
    return wait_for(pid, signal);
}

FilterResult run_filter(const std::vector<std::string>& argv,
                        const std::vector<std::string>& extra_env, std::string_view input) {
    // The input in a file: the filter reads it at its pace, stops when it likes, and no
    // SIGPIPE can reach cacheman.
    Spool spool(0);
    spool.append(input);
    FilterResult result;
    result.exit_code =
        run_filter(argv, extra_env, input.empty() ? -1 : spool.file(),
                   [&result](std::string_view piece) { result.out.append(piece); });
    return result;
}

bool spawn_detached(const std::vector<std::string>& argv) {
    SpawnPlan plan(argv, {}, false);
    for (const int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
        plan.open_dev_null(fd);
    }
    for (const int signal : k_interrupt_signals) {
        plan.reset_to_default(signal);
    }
    const pid_t middle = fork();
    if (middle < 0) {
        return false;
    }
    if (middle == 0) {
        // The middle process leaves our session, so that the command, not a session leader,
        // can never acquire a controlling terminal; drops every descriptor it inherited; starts
        // the command and exits at once, so the command is reparented and reaped by init.
        setsid();
        close_range(3, ~0U, 0);
        pid_t pid = 0;
        _exit(plan.start(pid));
    }
    int status = 0;
    while (waitpid(middle, &status, 0) < 0) {
        if (errno != EINTR) {
            return false;
        }
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

} // namespace cacheman

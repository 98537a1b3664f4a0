#include "proc/Process.hpp"

#include "proc/Interrupt.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace cacheman {

namespace {

constexpr int k_interrupt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

volatile pid_t g_child = 0;

void on_interrupt(int signal, siginfo_t* info, void* /*context*/) {
    note_interrupt(signal);
    const pid_t child = g_child;
    // A terminal's Ctrl-C already reached the command (same process group): do not repeat it.
    if (child > 0 && info->si_code != SI_KERNEL) {
        kill(child, signal);
    }
}

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

// argv as the NULL-terminated array exec wants; valid while `strings` lives.
std::vector<char*> c_strings(const std::vector<std::string>& strings) {
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (const auto& item : strings) {
        out.push_back(const_cast<char*>(item.c_str()));
    }
    out.push_back(nullptr);
    return out;
}

// posix_spawn's file actions and attributes; the child starts with SIGPIPE at its default.
struct SpawnSetup {
    posix_spawn_file_actions_t actions{};
    posix_spawnattr_t attributes{};
    SpawnSetup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attributes);
        sigset_t defaults;
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGPIPE);
        posix_spawnattr_setsigdefault(&attributes, &defaults);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
    void redirect(int from, int to) { posix_spawn_file_actions_adddup2(&actions, from, to); }
};

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

void install_interrupt_handlers() {
    for (const int signal : k_interrupt_signals) {
        struct sigaction current {};
        sigaction(signal, nullptr, &current);
        if (current.sa_handler == SIG_IGN) {
            continue; // started ignoring it (a background job): keep ignoring it
        }
        struct sigaction action {};
        action.sa_sigaction = on_interrupt;
        // No SA_RESTART: a blocking wait (flock of a flight) must return EINTR to notice it.
        action.sa_flags = SA_SIGINFO;
        sigemptyset(&action.sa_mask);
        sigaction(signal, &action, nullptr);
    }
}

ProcessResult run_process(const std::vector<std::string>& argv, const OutputSink& on_stdout,
                          const OutputSink& on_stderr) {
    std::vector<char*> args = c_strings(argv);
    Pipe out;
    Pipe err;
    SpawnSetup setup;
    setup.redirect(out.write_end, STDOUT_FILENO);
    setup.redirect(err.write_end, STDERR_FILENO);

    const auto start = std::chrono::steady_clock::now();
    pid_t pid = 0;
    const int rc =
        posix_spawnp(&pid, args[0], &setup.actions, &setup.attributes, args.data(), environ);
    if (rc != 0) {
        const int code = (rc == ENOENT || rc == ENOTDIR) ? 127 : 126;
        throw SpawnError(argv[0] + (code == 127
                                        ? std::string(": command not found")
                                        : ": cannot execute: " + std::string(std::strerror(rc))),
                         code);
    }
    g_child = pid;
    if (const int signal = interrupted()) {
        kill(pid, signal); // arrived before the command existed to forward it to
    }
    out.close_write();
    err.close_write();
    const auto reaped = pump(pid, out, err, on_stdout, on_stderr);

    ProcessResult result;
    result.exit_code = reaped ? exit_code_of(*reaped, result.signal) : wait_for(pid, result.signal);
    g_child = 0;
    result.duration =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

FilterResult run_filter(const std::vector<std::string>& argv,
                        const std::vector<std::string>& extra_env, std::string_view input) {
    std::vector<char*> args = c_strings(argv);
    std::vector<char*> env;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string_view name(*entry, std::strcspn(*entry, "="));
        const bool replaced = std::any_of(extra_env.begin(), extra_env.end(), [&](const auto& e) {
            return std::string_view(e).substr(0, e.find('=')) == name;
        });
        if (!replaced) {
            env.push_back(*entry);
        }
    }
    for (const auto& entry : extra_env) {
        env.push_back(const_cast<char*>(entry.c_str()));
    }
    env.push_back(nullptr);

    Pipe in;
    Pipe out;
    SpawnSetup setup;
    setup.redirect(in.read_end, STDIN_FILENO);
    setup.redirect(out.write_end, STDOUT_FILENO);
    // A filter that exits without reading all its input must not kill cacheman with SIGPIPE.
    struct sigaction ignore {};
    struct sigaction previous {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ignore, &previous);
    struct Restore {
        struct sigaction& previous;
        ~Restore() { sigaction(SIGPIPE, &previous, nullptr); }
    } restore{previous};
    pid_t pid = 0;
    const int rc =
        posix_spawnp(&pid, args[0], &setup.actions, &setup.attributes, args.data(), env.data());
    if (rc != 0) {
        throw SpawnError(argv[0] + ": cannot execute: " + std::string(std::strerror(rc)),
                         rc == ENOENT ? 127 : 126);
    }
    in.close_read();
    out.close_write();
    // Feed stdin and drain stdout together, so that neither side can block the other.
    FilterResult result;
    const int flags = fcntl(in.write_end, F_GETFL);
    fcntl(in.write_end, F_SETFL, flags | O_NONBLOCK);
    if (input.empty()) {
        in.close_write();
    }
    char buffer[1 << 16];
    while (out.read_end >= 0) {
        pollfd fds[2] = {{out.read_end, POLLIN, 0}, {in.write_end, POLLOUT, 0}};
        if (poll(fds, in.write_end >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (fds[0].revents != 0) {
            const ssize_t got = ::read(out.read_end, buffer, sizeof buffer);
            if (got > 0) {
                result.out.append(buffer, static_cast<std::size_t>(got));
            } else if (got == 0 || errno != EINTR) {
                out.close_read();
            }
        }
        if (in.write_end >= 0 && fds[1].revents != 0) {
            const ssize_t put = ::write(in.write_end, input.data(), input.size());
            if (put > 0) {
                input.remove_prefix(static_cast<std::size_t>(put));
            }
            if ((put < 0 && errno != EAGAIN && errno != EINTR) || input.empty()) {
                in.close_write(); // done, or the filter stopped reading
            }
        }
    }
    in.close_write();
    int signal = 0;
    result.exit_code = wait_for(pid, signal);
    return result;
}

void spawn_detached(const std::vector<std::string>& argv) {
    std::vector<char*> args = c_strings(argv);
    const pid_t middle = fork();
    if (middle < 0) {
        return;
    }
    if (middle == 0) {
        setsid();
        if (fork() == 0) {
            const int null = ::open("/dev/null", O_RDWR);
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
            close_range(3, ~0U, 0);
            for (const int signal : k_interrupt_signals) {
                std::signal(signal, SIG_DFL);
            }
            execv(args[0], args.data());
        }
        _exit(0);
    }
    int status = 0;
    while (waitpid(middle, &status, 0) < 0 && errno == EINTR) {
    }
}

} // namespace cacheman

#include "EnvVar.hpp"
#include "TempDir.hpp"
#include "base/Error.hpp"
#include "proc/Process.hpp"

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace cacheman;
using cacheman::test::EnvVar;
using cacheman::test::TempDir;

namespace {

struct Failure {
    int exit_code = -1; // -1: it started
    std::string message;
};

template <typename Start> Failure failure_of(Start start) {
    try {
        start();
    } catch (const SpawnError& error) {
        return {error.exit_code(), error.what()};
    }
    return {};
}

Failure process_failure(const std::string& command) {
    const OutputSink ignore = [](std::string_view) {};
    return failure_of([&] { run_process({command}, ignore, ignore); });
}

Failure filter_failure(const std::string& command) {
    return failure_of([&] { run_filter({command}, {}, "input"); });
}

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

sigset_t sigpipe_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    return set;
}

bool blocked_here(int signal) {
    sigset_t mask;
    pthread_sigmask(SIG_SETMASK, nullptr, &mask);
    return sigismember(&mask, signal) == 1;
}

bool pending_here(int signal) {
    sigset_t set;
    sigpending(&set);
    return sigismember(&set, signal) == 1;
}

// Sets SIGPIPE's disposition for a scope, and counts the SIGPIPEs delivered meanwhile.
volatile std::sig_atomic_t g_sigpipes = 0;
void count_sigpipe(int /*signal*/) {
    g_sigpipes = g_sigpipes + 1;
}
class SigpipeDisposition {
  public:
    explicit SigpipeDisposition(void (*handler)(int)) {
        struct sigaction action {};
        action.sa_handler = handler;
        sigemptyset(&action.sa_mask);
        sigaction(SIGPIPE, &action, &m_previous);
        g_sigpipes = 0;
    }
    ~SigpipeDisposition() { sigaction(SIGPIPE, &m_previous, nullptr); }
    SigpipeDisposition(const SigpipeDisposition&) = delete;
    SigpipeDisposition& operator=(const SigpipeDisposition&) = delete;

  private:
    struct sigaction m_previous {};
};

void (*sigpipe_handler())(int) {
    struct sigaction current {};
    sigaction(SIGPIPE, nullptr, &current);
    return current.sa_handler;
}

// The value of a "Name:\tvalue" line of a /proc/PID/status text.
std::string status_field(const std::string& status, const std::string& name) {
    std::istringstream lines(status);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(name + ":", 0) == 0) {
            return line.substr(line.find_first_not_of(" \t", name.size() + 1));
        }
    }
    return "(no " + name + ")";
}

bool has_signal(const std::string& hex_mask, int signal) {
    return ((std::stoull(hex_mask, nullptr, 16) >> (signal - 1)) & 1U) != 0;
}

// A filter that reads one byte, closes its stdin and then, still running, writes: its stdin is
// closed before its stdout, so cacheman writes to a pipe without a reader (EPIPE, SIGPIPE)
// before it sees the end of the filter's output, whatever the timing.
std::vector<std::string> stops_reading() {
    return {"sh", "-c", "head -c 1; exec 0<&-; echo; exit 3"};
}

std::string large_input() {
    return std::string(8 << 20, 'x'); // far more than a pipe holds
}

} // namespace

TEST_CASE("a command that does not exist exits 127, like a shell's", "[proc]") {
    TempDir tmp;
    write_file(tmp.path() / "file", "plain\n");

    const Failure bare = process_failure("cacheman-no-such-command");
    CHECK(bare.exit_code == 127);
    CHECK(bare.message == "cacheman-no-such-command: command not found");

    const Failure path = process_failure((tmp.path() / "missing").string());
    CHECK(path.exit_code == 127);
    CHECK(path.message == (tmp.path() / "missing").string() + ": No such file or directory");

    // A path through a regular file (ENOTDIR) does not exist either.
    const std::string through_file = (tmp.path() / "file" / "x").string();
    const Failure not_dir = process_failure(through_file);
    CHECK(not_dir.exit_code == 127);
    CHECK(not_dir.message == through_file + ": Not a directory");

    // run_filter (hooks) reports it the same way.
    const Failure filter = filter_failure(through_file);
    CHECK(filter.exit_code == 127);
    CHECK(filter.message == not_dir.message);
    CHECK(filter_failure("cacheman-no-such-command").exit_code == 127);
}

TEST_CASE("a command that exists but cannot be executed exits 126", "[proc]") {
    TempDir tmp;
    const auto plain = tmp.path() / "not-executable";
    write_file(plain, "#!/bin/sh\necho ran\n");
    chmod(plain.c_str(), 0644);

    const Failure file = process_failure(plain.string());
    CHECK(file.exit_code == 126);
    CHECK(file.message == plain.string() + ": cannot execute: Permission denied");

    const Failure directory = process_failure(tmp.path().string());
    CHECK(directory.exit_code == 126);
    CHECK(directory.message == tmp.path().string() + ": cannot execute: Is a directory");

    const Failure filter = filter_failure(plain.string());
    CHECK(filter.exit_code == 126);
    CHECK(filter.message == file.message);
}

TEST_CASE("run_process streams stdout and stderr apart and reports the exit", "[proc]") {
    std::string out;
    std::string err;
    const OutputSink to_out = [&](std::string_view chunk) { out.append(chunk); };
    const OutputSink to_err = [&](std::string_view chunk) { err.append(chunk); };

    const ProcessResult exited =
        run_process({"sh", "-c", "printf 'to out'; printf 'to err' >&2; exit 3"}, to_out, to_err);
    CHECK(exited.exit_code == 3);
    CHECK(exited.signal == 0);
    CHECK(out == "to out");
    CHECK(err == "to err");

    const ProcessResult killed = run_process({"sh", "-c", "kill -TERM $$"}, to_out, to_err);
    CHECK(killed.exit_code == 128 + SIGTERM);
    CHECK(killed.signal == SIGTERM);
}

TEST_CASE("run_filter feeds its input and captures its stdout", "[proc]") {
    const FilterResult upper = run_filter({"tr", "a-z", "A-Z"}, {}, "hello\n");
    CHECK(upper.exit_code == 0);
    CHECK(upper.out == "HELLO\n");

    const FilterResult failed = run_filter({"sh", "-c", "cat; exit 5"}, {}, "kept");
    CHECK(failed.exit_code == 5);
    CHECK(failed.out == "kept");
}

TEST_CASE("run_filter adds its variables to the environment, replacing ours", "[proc]") {
    const EnvVar ours("CACHEMAN_TEST_VARIABLE", "ours");
    const EnvVar other("CACHEMAN_TEST_OTHER", "kept");
    const FilterResult result =
        run_filter({"sh", "-c", "env | grep '^CACHEMAN_TEST_' | sort"},
                   {"CACHEMAN_TEST_VARIABLE=theirs", "CACHEMAN_TEST_ADDED=new"}, "");
    CHECK(result.exit_code == 0);
    CHECK(result.out == "CACHEMAN_TEST_ADDED=new\nCACHEMAN_TEST_OTHER=kept\n"
                        "CACHEMAN_TEST_VARIABLE=theirs\n");
}

TEST_CASE("a filter that stops reading never delivers SIGPIPE to the caller", "[proc]") {
    // A handler rather than the default: a SIGPIPE that got through is counted, not fatal.
    const SigpipeDisposition counting(count_sigpipe);
    const FilterResult result = run_filter(stops_reading(), {}, large_input());
    CHECK(result.exit_code == 3);
    CHECK(result.out == "x\n");
    CHECK(g_sigpipes == 0);
    CHECK(sigpipe_handler() == &count_sigpipe); // the disposition was never changed
    CHECK_FALSE(blocked_here(SIGPIPE));         // the mask is as it was
    CHECK_FALSE(pending_here(SIGPIPE));
}

TEST_CASE("a filter that stops reading does not kill the caller with SIGPIPE", "[proc]") {
    const SigpipeDisposition fatal(SIG_DFL);
    const FilterResult result = run_filter(stops_reading(), {}, large_input());
    CHECK(result.exit_code == 3); // reaching this line is the test
    CHECK(sigpipe_handler() == SIG_DFL);
    CHECK_FALSE(blocked_here(SIGPIPE));
}

TEST_CASE("run_filter leaves a SIGPIPE that was pending before it pending", "[proc]") {
    const SigpipeDisposition fatal(SIG_DFL);
    const sigset_t sigpipe = sigpipe_set();
    sigset_t previous;
    pthread_sigmask(SIG_BLOCK, &sigpipe, &previous);
    raise(SIGPIPE); // the caller's own, blocked

    run_filter(stops_reading(), {}, large_input());
    CHECK(blocked_here(SIGPIPE));
    CHECK(pending_here(SIGPIPE));

    const timespec now{};
    CHECK(sigtimedwait(&sigpipe, nullptr, &now) == SIGPIPE);
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

TEST_CASE("a command starts with SIGPIPE at its default and nothing blocked", "[proc]") {
    // As cacheman run has it: SIGPIPE ignored; and this thread blocks signals of its own.
    const SigpipeDisposition ignored(SIG_IGN);
    sigset_t blocked = sigpipe_set();
    sigaddset(&blocked, SIGUSR1);
    sigset_t previous;
    pthread_sigmask(SIG_BLOCK, &blocked, &previous);

    const FilterResult filter = run_filter({"cat", "/proc/self/status"}, {}, "");
    std::string process_status;
    const OutputSink ignore = [](std::string_view) {};
    run_process(
        {"cat", "/proc/self/status"}, [&](std::string_view chunk) { process_status.append(chunk); },
        ignore);
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);

    for (const std::string& status : {filter.out, process_status}) {
        CHECK(status_field(status, "SigBlk") == "0000000000000000");
        CHECK_FALSE(has_signal(status_field(status, "SigIgn"), SIGPIPE));
    }
}

TEST_CASE("spawn_detached starts a command that is not ours and holds nothing of ours", "[proc]") {
    TempDir tmp;
    const std::string fifo = (tmp.path() / "report").string();
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    int ours[2];
    REQUIRE(pipe(ours) == 0); // without O_CLOEXEC: a child would inherit it
    const std::string script = "exec >\"$1\"; "
                               "echo \"$PPID\"; "
                               "cut -d' ' -f6 /proc/$$/stat; "
                               "readlink /proc/$$/fd/0; "
                               "readlink /proc/$$/fd/2; "
                               "if [ -e /proc/$$/fd/" +
                               std::to_string(ours[0]) +
                               " ]; then echo inherited; else echo closed; fi";

    REQUIRE(spawn_detached({"/bin/sh", "-c", script, "sh", fifo}));
    // Its starter was reaped and it was never our child: we have no child left to wait for.
    int status = 0;
    CHECK(waitpid(-1, &status, WNOHANG) == -1);
    CHECK(errno == ECHILD);

    std::ifstream report(fifo); // blocks until the command opens it
    std::string parent;
    std::string session;
    std::string stdin_target;
    std::string stderr_target;
    std::string inherited;
    report >> parent >> session >> stdin_target >> stderr_target >> inherited;
    ::close(ours[0]);
    ::close(ours[1]);
    CHECK(std::stol(parent) != getpid());
    CHECK(std::stol(session) != getsid(0));
    CHECK(stdin_target == "/dev/null");
    CHECK(stderr_target == "/dev/null");
    CHECK(inherited == "closed");
}

TEST_CASE("spawn_detached says when the command cannot be started", "[proc]") {
    CHECK_FALSE(spawn_detached({"/nonexistent/cacheman-refresh"}));
    CHECK_FALSE(spawn_detached({"sh", "-c", "true"})); // a path is needed: PATH is not searched
}

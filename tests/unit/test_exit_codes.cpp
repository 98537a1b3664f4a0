// The command line's one table from error to exit status, and what it prints (cli/App.hpp).
#include "App.hpp"
#include "TempDir.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <new>
#include <stdexcept>
#include <unistd.h>

using namespace cacheman;

namespace {

// Runs `body` through cli::guarded with stderr captured; returns {status, what it printed}.
std::pair<int, std::string> guarded_run(const std::function<int()>& body, bool quiet = false) {
    test::TempDir tmp;
    const auto path = tmp.path() / "stderr";
    std::fflush(stderr);
    const int saved = ::dup(STDERR_FILENO);
    const int capture = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(capture, STDERR_FILENO);
    ::close(capture);
    const int status = cli::guarded(quiet, body);
    std::fflush(stderr);
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    std::ifstream in(path);
    return {status, std::string(std::istreambuf_iterator<char>(in), {})};
}

template <class E, class... Args> std::function<int()> throwing(Args... args) {
    return [=]() -> int { throw E(args...); };
}

} // namespace

TEST_CASE("every error kind has its exit status, printed on one line", "[cli][exit]") {
    CHECK(guarded_run([] { return 7; }) == std::pair<int, std::string>{7, ""});
    CHECK(guarded_run(throwing<NotFoundError>("no such cache 'c'")) ==
          std::pair<int, std::string>{1, "cacheman: error: no such cache 'c'\n"});
    CHECK(guarded_run(throwing<NotFoundError>("no such cache 'c'"), true) ==
          std::pair<int, std::string>{1, ""}); // -q: a missing thing quietly
    CHECK(guarded_run(throwing<UsageError>("bad")).first == 2);
    CHECK(guarded_run(throwing<UsageError>("bad"), true).second == "cacheman: error: bad\n");
    CHECK(guarded_run(throwing<StoreError>("disk")).first == 3);
    CHECK(guarded_run(throwing<LockedError>("busy")).first == 3);
    CHECK(guarded_run(throwing<HookError>("hook")).first == 4);
    CHECK(guarded_run(throwing<SpawnError>("x: command not found", 127)).first == 127);
    CHECK(guarded_run(throwing<SpawnError>("x: cannot execute", 126)).first == 126);
    CHECK(guarded_run(throwing<Interrupted>("interrupted")).first == 130);
    CHECK(guarded_run(throwing<std::bad_alloc>()) ==
          std::pair<int, std::string>{3, "cacheman: error: out of memory\n"});
}

TEST_CASE("an exception that is not one of cacheman's errors is reported as a bug: exit 70",
          "[cli][exit]") {
    const auto [status, printed] = guarded_run(throwing<std::logic_error>("vector::at"));
    CHECK(status == 70);
    CHECK(printed ==
          "cacheman: error: internal error, a bug in cacheman (please report it): vector::at\n");
}

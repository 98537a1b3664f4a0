#include "commands/RunCommand.hpp"

#include "base/Duration.hpp"
#include "base/Error.hpp"
#include "commands/InspectCommands.hpp"
#include "proc/Interrupt.hpp"
#include "jsonl/Writer.hpp"
#include "base/Names.hpp"
#include "Output.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <fmt/core.h>
#include <unistd.h>

namespace cacheman::cli {

namespace {

constexpr int k_exit_interrupted = 130;

// Writes everything, unbuffered, so that a running command's output appears as it comes.
OutputSink fd_sink(int fd) {
    return [fd](std::string_view bytes) {
        while (!bytes.empty()) {
            const ssize_t put = ::write(fd, bytes.data(), bytes.size());
            if (put < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return; // the reader went away; the command's result is still recorded
            }
            bytes.remove_prefix(static_cast<std::size_t>(put));
        }
    };
}

std::string current_directory() {
    std::string buffer(4096, '\0');
    while (getcwd(buffer.data(), buffer.size()) == nullptr) {
        if (errno != ERANGE) {
            throw UsageError(std::string("cannot read the working directory: ") +
                             std::strerror(errno));
        }
        buffer.resize(buffer.size() * 2);
    }
    buffer.resize(std::strlen(buffer.c_str()));
    return buffer;
}

std::string own_executable() {
    std::string path(4096, '\0');
    const ssize_t size = readlink("/proc/self/exe", path.data(), path.size());
    return size > 0 ? path.substr(0, static_cast<std::size_t>(size)) : "cacheman";
}

RunRequest request_of(const Arguments& args) {
    RunRequest request;
    request.spec.argv = args.command;
    request.spec.cwd = current_directory();
    request.spec.env_names = args.env;
    request.spec.watch_paths = args.watch;
    request.spec.extra_key = args.run_key;
    validate_cache_name(args.run_cache);
    request.cache = args.run_cache;
    if (args.ttl) {
        request.ttl = parse_duration(*args.ttl);
    }
    if (args.stale) {
        request.stale = parse_duration(*args.stale);
    }
    request.cache_failures = args.cache_failures;
    request.force = args.force;
    request.refresh = args.background_refresh;
    return request;
}

// The argv of a detached `cacheman run` that refreshes this same step.
std::vector<std::string> refresh_argv(Context& ctx) {
    const auto& args = ctx.args;
    const Location& location = ctx.location();
    std::vector<std::string> argv{
        own_executable(),       "--dir",   location.dir,  "--namespace", location.name_space, "run",
        "--background-refresh", "--cache", args.run_cache};
    const auto add = [&](const char* flag, const std::string& value) {
        argv.emplace_back(flag);
        argv.push_back(value);
    };
    if (args.ttl) {
        add("--ttl", *args.ttl);
    }
    if (args.stale) {
        add("--stale", *args.stale);
    }
    for (const auto& path : args.watch) {
        add("--watch", path);
    }
    for (const auto& name : args.env) {
        add("--env", name);
    }
    if (args.run_key) {
        add("--key", *args.run_key);
    }
    if (args.cache_failures) {
        argv.emplace_back("--cache-failures");
    }
    argv.emplace_back("--");
    argv.insert(argv.end(), args.command.begin(), args.command.end());
    return argv;
}

void print_explanation(const Context& ctx, const Explanation& explanation) {
    const auto& record = explanation.record;
    if (ctx.global.json) {
        json::Writer out;
        out.begin_object()
            .key("key")
            .string(explanation.key.hex)
            .key("cache")
            .string(ctx.args.run_cache)
            .key("parts")
            .begin_array();
        for (const auto& part : explanation.key.parts) {
            out.begin_object()
                .key("part")
                .string(part.label)
                .key("value")
                .string(part.description)
                .end_object();
        }
        out.end_array().key("hit").boolean(record.has_value());
        if (record) {
            out.key("exit")
                .integer(record->exit_code)
                .key("duration")
                .fixed(record->duration, 3)
                .key("created")
                .seconds(record->created_at)
                .key("expires")
                .seconds_or_null(explanation.expires);
        }
        write_json(out.end_object());
        return;
    }
    std::size_t width = 6;
    for (const auto& part : explanation.key.parts) {
        width = std::max(width, part.label.size());
    }
    const auto line = [&](std::string_view label, std::string_view value) {
        write_out(fmt::format("{:<{}}  {}\n", label, width, value));
    };
    line("key", explanation.key.hex);
    line("cache", ctx.args.run_cache);
    for (const auto& part : explanation.key.parts) {
        line(part.label, part.description);
    }
    if (!record) {
        line("result", "miss: the command would run");
        return;
    }
    std::string status =
        fmt::format("hit: recorded {}, exit {}, took {:.3f} s", local_time(record->created_at),
                    record->exit_code, record->duration);
    if (explanation.expires) {
        status += ", expires " + local_time(*explanation.expires);
    }
    line("result", status);
}

// Ends cacheman the way the interrupting signal would have, so the calling shell sees it.
int die_of(int signal) {
    std::signal(signal, SIG_DFL);
    raise(signal);
    return k_exit_interrupted;
}

} // namespace

void declare_run(CLI::App& app, Arguments& args) {
    app.add_option("--cache", args.run_cache, "Cache that holds the results (default: run)");
    app.add_option("--ttl", args.ttl, "Results expire after this duration");
    app.add_option("--stale", args.stale,
                   "Older than this: replay, then refresh in the background");
    app.add_option("--watch", args.watch, "A file or directory whose contents are part of the key")
        ->allow_extra_args(false);
    app.add_option("--env", args.env, "An environment variable whose value is part of the key")
        ->allow_extra_args(false);
    app.add_option("--key", args.run_key, "An extra string that is part of the key");
    app.add_flag("--cache-failures", args.cache_failures, "Store a non-zero exit too");
    app.add_flag("--force", args.force, "Run even on a hit, and overwrite the result");
    app.add_flag("--explain", args.explain,
                 "Print the key's parts and whether it would hit; "
                 "run nothing");
    app.add_flag("--background-refresh", args.background_refresh)->group("");
    // Everything from the first word that is not an option of run's is the command, so both
    // `run -- ls -la` and `run ls -la` work.
    // Global options go before `run`: after it, every unknown word belongs to the command.
    app.fallthrough(false);
    app.prefix_command();
    // The words after `--` were taken off argv before parsing (see split_command).
    app.callback([&app, &args] {
        if (!args.command.empty()) {
            const auto stray = app.remaining();
            if (!stray.empty()) {
                throw UsageError("unknown option '" + stray.front() +
                                 "' for run (global options go before 'run')");
            }
            return;
        }
        args.command = app.remaining();
        if (args.command.empty()) {
            throw UsageError("run needs a command: cacheman run [OPTIONS] -- CMD [ARG...]");
        }
        if (args.command.front().front() == '-') {
            throw UsageError("unknown option '" + args.command.front() +
                             "' for run (put the command after --)");
        }
    });
    app.footer(
        "The key is a 128-bit XXH3 hash of: the command and its arguments, the working\n"
        "directory, each --env variable's value (unset differs from empty), each --watch path's\n"
        "contents (a file's bytes; a directory's entries recursively, by relative path, type and\n"
        "contents; a missing path is a state of its own), and --key. A hit replays stdout and\n"
        "stderr byte for byte and exits with the recorded status; a miss runs the command once,\n"
        "even when several identical runs start together, and stores the result (a non-zero exit\n"
        "only with --cache-failures). The results cache is ordinary: 'cacheman depend inputs run'\n"
        "then 'cacheman invalidate inputs' makes the next run execute again.\n"
        "Exit: the command's status; 127 not found, 126 cannot execute.\n"
        "Example: cacheman run --watch src --ttl 1d -- make -C src\n");
}

int split_command(int argc, char** argv, int run_index, std::vector<std::string>& command) {
    // run's options that take a value as the next word (`--ttl=1s` needs no skipping).
    static constexpr std::string_view k_valued[] = {"--cache", "--ttl", "--stale",
                                                    "--watch", "--env", "--key"};
    for (int i = run_index + 1; i < argc; ++i) {
        const std::string_view word = argv[i];
        if (word == "--") {
            command.assign(argv + i + 1, argv + argc);
            return i;
        }
        if (word.empty() || word.front() != '-') {
            return argc; // the command started: a later `--` is its own argument
        }
        if (std::find(std::begin(k_valued), std::end(k_valued), word) != std::end(k_valued)) {
            ++i;
        }
    }
    return argc;
}

int run_run(Context& ctx) {
    const RunRequest request = request_of(ctx.args);
    if (ctx.args.explain) {
        print_explanation(ctx, ctx.session(OpenMode::read).explain(request));
        return 0;
    }
    Namespace& session = ctx.session(OpenMode::create);
    install_interrupt_handlers();
    // A reader that goes away (`| head -1`) must not kill cacheman before the result is stored.
    std::signal(SIGPIPE, SIG_IGN);
    RunOutcome outcome;
    try {
        outcome = session.run(request, fd_sink(STDOUT_FILENO), fd_sink(STDERR_FILENO),
                               [&] { spawn_detached(refresh_argv(ctx)); });
    } catch (const Interrupted&) {
        return die_of(interrupted());
    }
    if (!outcome.note.empty()) {
        ctx.note(outcome.note);
    }
    if (!outcome.warning.empty()) {
        print_error(outcome.warning);
    }
    if (outcome.interrupted_by != 0) {
        return die_of(outcome.interrupted_by);
    }
    return outcome.exit_code;
}

} // namespace cacheman::cli

#include "commands/RunCommand.hpp"

#include "App.hpp"
#include "Output.hpp"
#include "Signals.hpp"
#include "base/Error.hpp"
#include "commands/InspectCommands.hpp"
#include "jsonl/Writer.hpp"
#include "proc/Interrupt.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <fmt/core.h>
#include <type_traits>
#include <unistd.h>

namespace cacheman::cli {

namespace {

constexpr int k_exit_interrupted = 130;

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

// The argv of a detached `cacheman run` that refreshes this same step.
std::vector<std::string> refresh_argv(Context& ctx) {
    const Location& location = ctx.location();
    const bool on_server = !location.store.empty();
    std::vector<std::string> argv{own_executable(),
                                  on_server ? "--store" : "--dir",
                                  on_server ? location.store : location.dir,
                                  "--namespace",
                                  location.name_space,
                                  "run",
                                  "--background-refresh"};
    const auto options = refresh_options(ctx.args.run);
    argv.insert(argv.end(), options.begin(), options.end());
    argv.emplace_back("--");
    argv.insert(argv.end(), ctx.args.command.begin(), ctx.args.command.end());
    return argv;
}

std::size_t files_in(const outputs::Manifest& output) {
    return static_cast<std::size_t>(
        std::count_if(output.nodes.begin(), output.nodes.end(),
                      [](const outputs::Node& node) { return node.kind == outputs::Kind::file; }));
}

void print_explanation(const Context& ctx, const Explanation& explanation) {
    const auto& record = explanation.record;
    if (ctx.global.json) {
        json::Writer out;
        out.begin_object()
            .key("key")
            .string(explanation.key.hex)
            .key("cache")
            .string(ctx.args.run.cache)
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
                .seconds_or_null(explanation.expires)
                .key("outputs")
                .begin_array();
            for (const auto& output : record->outputs) {
                out.begin_object()
                    .key("path")
                    .string(output.declared)
                    .key("bytes")
                    .integer(static_cast<std::int64_t>(output.bytes()))
                    .key("files")
                    .integer(static_cast<std::int64_t>(files_in(output)))
                    .end_object();
            }
            out.end_array();
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
    line("cache", ctx.args.run.cache);
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
    for (const auto& output : record->outputs) {
        const std::size_t files = files_in(output);
        line("stored", fmt::format("{}: {} bytes in {} file{}", output.declared, output.bytes(),
                                   files, files == 1 ? "" : "s"));
    }
}

// "5 s", "3 min", "2 h", "4 d": how long ago a result was recorded, for -v.
std::string age_of(double seconds) {
    const auto whole = static_cast<long long>(seconds < 0 ? 0 : seconds);
    if (whole < 120) {
        return fmt::format("{} s", whole);
    }
    if (whole < 7200) {
        return fmt::format("{} min", whole / 60);
    }
    if (whole < 172800) {
        return fmt::format("{} h", whole / 3600);
    }
    return fmt::format("{} d", whole / 86400);
}

// The line -v prints about the lookup: it says hit or miss.
std::string hit_or_miss(const RunOutcome& outcome) {
    const std::string age = outcome.age ? age_of(*outcome.age) : "";
    switch (outcome.source) {
    case RunSource::hit:
        return "hit: replayed the result recorded " + age + " ago";
    case RunSource::stale_hit:
        return "hit: replayed the result recorded " + age + " ago; refreshing it in the background";
    case RunSource::waited:
        return "miss: another run executed it; replayed its result";
    case RunSource::executed:
        return "miss: ran the command";
    case RunSource::missed:
        return "miss: nothing to replay";
    case RunSource::skipped:
        break;
    }
    return "";
}

// Ends cacheman the way the interrupting signal would have, so the calling shell sees it.
int die_of(int signal) {
    std::signal(signal, SIG_DFL);
    raise(signal);
    return k_exit_interrupted;
}

} // namespace

void declare_run(CLI::App& app, Arguments& args) {
    visit_run_options(args.run, [&app](const RunOptionInfo& info, auto& field) {
        const std::string flag(info.flag);
        CLI::Option* option = nullptr;
        if constexpr (std::is_same_v<std::decay_t<decltype(field)>, bool>) {
            option = app.add_flag(flag, field, std::string(info.help));
        } else {
            option = app.add_option(flag, field, std::string(info.help))->allow_extra_args(false);
        }
        if (info.help.empty()) {
            option->group("");
        }
    });
    // Everything from the first word that is not an option of run's is the command, so both
    // `run -- ls -la` and `run ls -la` work.
    // Global options between `run` and the command were moved before `run` (split_command).
    app.fallthrough(false);
    app.prefix_command();
    // The words after `--` were taken off argv before parsing (see split_command).
    app.callback([&app, &args] {
        if (!args.command.empty()) {
            const auto stray = app.remaining();
            if (!stray.empty()) {
                throw UsageError("unknown option '" + stray.front() + "' for run");
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
        "contents; a missing path is a state of its own), each --output path, each --key, and\n"
        "with --stdin the bytes of stdin (without it, stdin is not part of the key); under "
        "--root,\n"
        "the working directory and the watched and output paths count relative to the root. A\n"
        "hit restores the --output files and directories, replays stdout and stderr byte for\n"
        "byte, in the order they were written, and exits with the recorded status; a miss\n"
        "runs the command once, even when several identical runs start together, and stores the\n"
        "result (a non-zero exit only with --cache-failures). The results cache is ordinary:\n"
        "'cacheman depend inputs run' then 'cacheman invalidate inputs' makes the next run\n"
        "execute again.\n"
        "Exit: the command's status; 127 not found, 126 cannot execute.\n"
        "Example: cacheman run --watch src --ttl 1d -- make -C src\n");
}

int split_command(int argc, char** argv, int run_index, std::vector<std::string>& command) {
    for (int i = run_index + 1; i < argc; ++i) {
        const std::string_view word = argv[i];
        if (word == "--") {
            command.assign(argv + i + 1, argv + argc);
            return i;
        }
        if (word.empty() || word.front() != '-') {
            return argc; // the command started: a later `--` is its own argument
        }
        if (const int words = std::min(global_option_words(word), argc - i); words > 0) {
            // `run --json -- CMD` means `--json run -- CMD`: move it before `run`.
            std::rotate(argv + run_index, argv + i, argv + i + words);
            run_index += words;
            i += words - 1;
        } else if (run_option_takes_value(word)) {
            ++i; // its value (`--ttl 1s`; `--ttl=1s` is one word) is not the command
        }
    }
    return argc;
}

int run_run(Context& ctx) {
    RunRequest request = run_request(ctx.args.run, ctx.args.command, current_directory());
    std::optional<CapturedInput> input;
    if (ctx.args.run.stdin) {
        input.emplace(STDIN_FILENO);
        request.spec.stdin = input->summary();
        request.stdin_fd = input->fd();
    }
    if (ctx.args.run.explain) {
        print_explanation(ctx, ctx.session(OpenMode::read).explain(request));
        return 0;
    }
    Namespace& session = ctx.session(OpenMode::create);
    install_run_signal_handlers();
    RunOutcome outcome;
    StreamSink out(STDOUT_FILENO, "stdout");
    StreamSink err(STDERR_FILENO, "stderr");
    try {
        outcome = session.run(request, out.sink(), err.sink(),
                              [&] { spawn_detached(refresh_argv(ctx)); });
    } catch (const Interrupted&) {
        return die_of(interrupted());
    }
    if (const std::string said = hit_or_miss(outcome); !said.empty()) {
        ctx.note(said);
    }
    if (!outcome.note.empty()) {
        ctx.note(outcome.note);
    }
    if (outcome.source == RunSource::missed) {
        return ctx.not_found("no stored result to replay (--replay-only): ran nothing");
    }
    if (!outcome.warning.empty()) {
        print_error(outcome.warning);
    }
    if (outcome.interrupted_by != 0) {
        return die_of(outcome.interrupted_by);
    }
    // Output lost to a full disk (or any error but a closed pipe) is a failure, even when the
    // command succeeded; its result is stored all the same.
    for (const auto* stream : {&out, &err}) {
        if (const std::string failure = stream->failure(); !failure.empty()) {
            print_error(failure);
            return outcome.exit_code != 0 ? outcome.exit_code : exit_status_of(StoreError(failure));
        }
    }
    return outcome.exit_code;
}

} // namespace cacheman::cli

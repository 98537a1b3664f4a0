#include "App.hpp"

#include "Commands.hpp"
#include "base/Error.hpp"
#include "base/StoreUrl.hpp"
#include "session/Namespace.hpp"
#include "Output.hpp"
#include "commands/RunCommand.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <functional>
#include <fmt/core.h>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>
#include <cerrno>
#include <cstring>

namespace cacheman::cli {

namespace {

constexpr int k_exit_usage = 2;
constexpr int k_exit_store = 3;
// An exception that is not a cacheman::Error is a bug (sysexits' EX_SOFTWARE).
constexpr int k_exit_bug = 70;

// The one table from error kind to exit status (CONTRACT.md "Exit status").
struct ExitCode {
    ErrorKind kind;
    int status;
};
constexpr ExitCode k_exit_codes[] = {
    {ErrorKind::not_found, 1},  {ErrorKind::usage, 2},   {ErrorKind::store, 3},
    {ErrorKind::hook, 4},       {ErrorKind::spawn, 126}, {ErrorKind::interrupted, 130},
};

// Prints the error (a missing thing quietly under -q) and returns its exit status.
int report(const Error& error, bool quiet) {
    if (error.kind() != ErrorKind::not_found || !quiet) {
        print_error(error.what());
    }
    return exit_status_of(error);
}

constexpr std::string_view k_description =
    "cacheman: a dependent cache manager for the command line.\n"
    "Caches of key -> value live in one SQLite file per namespace; invalidating a cache clears\n"
    "every cache computed from it, in one transaction.";

constexpr std::string_view k_footer =
    "Store: <dir>/<namespace>.sqlite, where dir is --dir, else $CACHEMAN_DIR, else\n"
    "$XDG_CACHE_HOME/cacheman, else ~/.cache/cacheman; namespace is -n, else\n"
    "$CACHEMAN_NAMESPACE, else 'default'. With --store URL (or $CACHEMAN_STORE), a\n"
    "postgresql:// URL, the store is that namespace on a PostgreSQL server instead.\n"
    "Exit status: 0 ok, 1 not found, 2 usage error, 3 store error, 4 hook failed,\n"
    "130 interrupted; run exits with the command's own status.\n"
    "Run 'cacheman help COMMAND' for a command's options and an example.\n";

// Edits (insert, delete, substitute, swap two neighbours) that turn a into b: a typo's distance.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) {
        d[i][0] = i;
    }
    for (std::size_t j = 0; j <= b.size(); ++j) {
        d[0][j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1,
                                d[i - 1][j - 1] + (a[i - 1] != b[j - 1] ? 1 : 0)});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

constexpr std::string_view k_version = "cacheman " CACHEMAN_VERSION;

using Kind = GlobalOption::Kind;

// The words before the command: where the command is, and whether they ask for --version or
// --help, which are answered before any CLI11 command tree is built (every command is a fresh
// process, and building the tree costs more than a whole `get`).
struct Prescan {
    int command;          // the index of the first word that is not a global option, or argc
    bool version = false; // as in CLI11, --version wins over --help
    bool help = false;
};

Prescan prescan(int argc, char** argv) {
    Prescan found{argc};
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--") {
            found.command = i + 1;
            break;
        }
        if (global_option_takes_value(arg)) {
            ++i;
        } else if (arg == "--version") {
            found.version = true;
        } else if (arg == "-h" || arg == "--help") {
            found.help = true;
        } else if (arg.empty() || arg.front() != '-') {
            found.command = i;
            break;
        }
    }
    return found;
}

// One row of a help section, laid out as CLI11 lays out a command's help.
std::string help_row(std::string_view name, std::string_view description) {
    constexpr std::size_t k_name_width = 28;
    if (name.size() >= k_name_width) {
        return fmt::format("  {}\n  {:<{}}{}\n", name, "", k_name_width, description);
    }
    return fmt::format("  {:<{}}{}\n", name, k_name_width, description);
}

// `cacheman --help`: the global options and the commands, from their tables.
std::string overview() {
    std::string out =
        fmt::format("{}\nUsage: cacheman [OPTIONS] [SUBCOMMAND]\n\nOptions:\n", k_description);
    for (const auto& option : global_options()) {
        const bool takes_value = option.kind == Kind::text;
        out += help_row(takes_value ? fmt::format("{} TEXT", option.names) : option.names,
                        option.description);
    }
    out += "\nSubcommands:\n";
    for (const auto& command : commands()) {
        if (!command.hidden) {
            out += help_row(command.name, command.summary);
        }
    }
    return out + "\n" + std::string(k_footer) + "\n";
}

void refuse_unknown_command(std::string_view word) {
    std::string message = fmt::format("unknown command '{}'", word);
    const Command* nearest = nullptr;
    std::size_t best = 3;
    for (const auto& command : commands()) {
        const std::size_t distance = edit_distance(word, command.name);
        if (distance < best) {
            best = distance;
            nearest = &command;
        }
    }
    if (nearest != nullptr) {
        message += fmt::format("; did you mean '{}'?", nearest->name);
    } else {
        message += " (see 'cacheman --help')";
    }
    throw UsageError(message);
}

void declare_globals(CLI::App& app, GlobalOptions& global) {
    for (const auto& option : global_options()) {
        const std::string names(option.names);
        const std::string description(option.description);
        switch (option.kind) {
        case Kind::help:
            app.set_help_flag(names, description);
            break;
        case Kind::version:
            app.set_version_flag(names, std::string(k_version), description);
            break;
        case Kind::text:
            app.add_option(names, global.*option.text, description);
            break;
        case Kind::flag:
            app.add_flag(names, global.*option.flag, description);
            break;
        }
    }
}

// The first word after the command that looks like an option but is neither one of the
// command's nor a global one (`get -rf k`), so that a parse error names it rather than what went
// missing because of it.
std::optional<std::string> unknown_option(CLI::App& command, int argc, char** argv, int index) {
    for (int i = index + 1; i < argc; ++i) {
        const std::string_view word = argv[i];
        if (word == "--") {
            break;
        }
        if (word.size() < 2 || word.front() != '-') {
            continue;
        }
        // `--ttl=1s` is --ttl; `-rf` is -r then -f: its first letter decides.
        const std::string name(word.starts_with("--") ? word.substr(0, word.find('='))
                                                      : word.substr(0, 2));
        if (command.get_option_no_throw(name) == nullptr && global_option_words(name) == 0 &&
            name != "-h" && name != "--help") {
            return std::string(word);
        }
    }
    return std::nullopt;
}

int print_help(CLI::App& app, const std::string& topic) {
    if (topic.empty()) {
        write_out(overview());
        return 0;
    }
    if (find_command(topic) == nullptr) {
        refuse_unknown_command(topic);
    }
    write_out(app.get_subcommand(topic)->help("cacheman"));
    return 0;
}

int run_command(CLI::App& app, const GlobalOptions& global, const Arguments& args) {
    const auto selected = app.get_subcommands();
    if (selected.empty()) {
        fmt::print(stderr, "{}", overview());
        return k_exit_usage;
    }
    const std::string name = selected.front()->get_name();
    if (name == "help") {
        return print_help(app, args.topic);
    }
    // A postgresql:// store: cacheman-postgresql runs the command, before this process reads
    // anything (a value on stdin is the other program's to read).
    if (!Namespace::opens_store_urls() &&
        (resolve_store(global.store, global.dir) || copy_names_store_url(args))) {
        run_engine_program();
    }
    Context context(global, args);
    return find_command(name)->run(context);
}

} // namespace

int exit_status_of(const Error& error) {
    if (const auto* spawn = dynamic_cast<const SpawnError*>(&error)) {
        return spawn->exit_code(); // 127 when the command was not found
    }
    for (const auto& entry : k_exit_codes) {
        if (entry.kind == error.kind()) {
            return entry.status;
        }
    }
    return k_exit_bug;
}

int guarded(const bool& quiet, const std::function<int()>& body) {
    try {
        return body();
    } catch (const Error& error) {
        return report(error, quiet);
    } catch (const std::bad_alloc&) {
        print_error("out of memory");
        return k_exit_store;
    } catch (const std::exception& error) {
        print_error(fmt::format("internal error, a bug in cacheman (please report it): {}",
                                error.what()));
        return k_exit_bug;
    }
}

namespace {

// This process's arguments as given, for run_engine_program.
std::vector<std::string>& program_arguments() {
    static std::vector<std::string> arguments;
    return arguments;
}

} // namespace

std::string own_executable() {
    std::string path(4096, '\0');
    const ssize_t size = ::readlink("/proc/self/exe", path.data(), path.size());
    return size > 0 ? path.substr(0, static_cast<std::size_t>(size)) : "cacheman";
}

void run_engine_program() {
    constexpr const char* k_program = "cacheman-postgresql";
    std::vector<std::string> arguments = program_arguments();
    std::vector<char*> argv;
    for (auto& argument : arguments) {
        argv.push_back(argument.data());
    }
    argv.push_back(nullptr);
    flush_out();
    // Beside this program first (an installed pair, or a build tree), then on PATH.
    const std::string self = own_executable();
    if (const auto slash = self.rfind('/'); slash != std::string::npos) {
        ::execv((self.substr(0, slash + 1) + k_program).c_str(), argv.data());
    }
    ::execvp(k_program, argv.data());
    throw StoreError(fmt::format("cannot run {}, the engine of postgresql:// stores: {} (install "
                                 "it beside cacheman or on PATH)",
                                 k_program, std::strerror(errno)));
}

int run(int argc, char** argv) {
    program_arguments().assign(argv, argv + argc);
    GlobalOptions global;
    Arguments args;
    return guarded(global.quiet, [&] {
        const Prescan before = prescan(argc, argv);
        if (before.version || before.help) {
            write_out(before.version ? std::string(k_version) + "\n" : overview());
            return flush_out() ? 0 : k_exit_store;
        }
        CLI::App app(std::string(k_description), "cacheman");
        app.footer(std::string(k_footer));
        app.require_subcommand(0, 1);
        declare_globals(app, global);
        const int index = before.command;
        const char* word = index < argc ? argv[index] : nullptr;
        if (word && !find_command(word)) {
            refuse_unknown_command(word);
        }
        if (word && std::string_view(word) == "run") {
            argc = split_command(argc, argv, index, args.command);
        }
        // Building CLI11 subcommands and options costs start-up time (every command is a fresh
        // process), so only the command being run is built; all of them only for `help`, whose
        // topic needs its options listed. The overview is written from the tables (overview()).
        const bool declare_all = word && std::string_view(word) == "help";
        for (const auto& command : commands()) {
            if (!word || (!declare_all && command.name != word)) {
                continue;
            }
            auto* sub = app.add_subcommand(std::string(command.name), std::string(command.summary));
            sub->fallthrough();
            if (command.hidden) {
                sub->group("");
            }
            sub->footer("Example: " + std::string(command.example) + "\n");
            command.declare(*sub, args);
        }
        try {
            app.parse(argc, argv);
        } catch (const CLI::CallForHelp&) {
            // Help of the selected command, or the overview (e.g. for `-qh`).
            write_out(app.get_subcommands().empty() ? overview() : app.help());
            return 0;
        } catch (const CLI::CallForVersion& version) {
            write_out(std::string(version.what()) + "\n");
            return 0;
        } catch (const CLI::ParseError& error) {
            if (word != nullptr) {
                if (auto unknown = unknown_option(*app.get_subcommand(word), argc, argv, index)) {
                    throw UsageError(fmt::format("unknown option '{}' for {}", *unknown, word));
                }
            }
            throw UsageError(error.what());
        }
        const int status = run_command(app, global, args);
        if (!flush_out()) {
            print_error("cannot write to stdout");
            return k_exit_store;
        }
        return status;
    });
}

} // namespace cacheman::cli

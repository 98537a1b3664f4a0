#include "Commands.hpp"

#include "base/Clock.hpp"
#include "base/Duration.hpp"
#include "Embedded.hpp"
#include "base/Error.hpp"
#include "commands/HookCommands.hpp"
#include "Input.hpp"
#include "commands/InspectCommands.hpp"
#include "jsonl/Writer.hpp"
#include "base/Location.hpp"
#include "base/Spool.hpp"
#include "base/StoreUrl.hpp"
#include "engine/Types.hpp"
#include "Output.hpp"
#include "commands/RunCommand.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

namespace cacheman::cli {

namespace {

constexpr int k_found = 0;
constexpr int k_not_found = 1;

int busy_timeout_ms() {
    const auto text = process_env("CACHEMAN_BUSY_TIMEOUT");
    if (!text || text->empty()) {
        return engine::EngineOptions{}.busy_timeout_ms;
    }
    try {
        return static_cast<int>(std::min<long long>(parse_duration(*text).count(), 1LL << 30));
    } catch (const UsageError& error) {
        throw UsageError(std::string("CACHEMAN_BUSY_TIMEOUT: ") + error.what());
    }
}

std::optional<Duration> ttl_of(const Arguments& args) {
    if (!args.ttl) {
        return std::nullopt;
    }
    return parse_duration(*args.ttl);
}

// --- declarations ------------------------------------------------------------------------------

void positional_cache(CLI::App& app, Arguments& args) {
    app.add_option("cache", args.cache, "Cache name")->required();
}

void declare_set(CLI::App& app, Arguments& args) {
    positional_cache(app, args);
    app.add_option("key", args.key, "Key")->required();
    app.add_option("value", args.value, "Value; read from stdin when absent or '-'");
    app.add_option("--ttl", args.ttl, "Expire the entry after this duration (90s, 15m, 7d)");
}

void declare_cache_key(CLI::App& app, Arguments& args) {
    positional_cache(app, args);
    app.add_option("key", args.key, "Key")->required();
}

void declare_del(CLI::App& app, Arguments& args) {
    positional_cache(app, args);
    app.add_option("keys", args.keys, "Keys to remove")->required();
}

void declare_keys(CLI::App& app, Arguments& args) {
    positional_cache(app, args);
    app.add_flag("-0,--null", args.nul, "Separate keys with NUL instead of newline");
}

void declare_nothing(CLI::App& /*app*/, Arguments& /*args*/) {}

void declare_edge(CLI::App& app, Arguments& args) {
    app.add_option("parent", args.parent, "The cache the child is computed from")->required();
    app.add_option("child", args.child, "The dependent cache")->required();
}

void declare_invalidate(CLI::App& app, Arguments& args) {
    positional_cache(app, args);
    app.add_option("key", args.optional_key, "Only remove this key (dependents are cleared)");
    app.add_flag("--dry-run", args.dry_run,
                 "Print the caches that would be cleared; change nothing");
}

void declare_cache(CLI::App& app, Arguments& args) {
    positional_cache(app, args);
}

void declare_import(CLI::App& app, Arguments& args) {
    positional_cache(app, args);
    app.add_option("file", args.file, "JSON Lines file; stdin when absent or '-'");
}

void declare_deps(CLI::App& app, Arguments& args) {
    positional_cache(app, args);
    app.add_flag("--all", args.all, "Every ancestor and descendant, not only direct edges");
}

void declare_copy(CLI::App& app, Arguments& args) {
    auto* to = app.add_option("--to", args.copy_to,
                              "Copy the namespace into this store: a directory or a URL")
                   ->type_name("STORE");
    app.add_option("--from", args.copy_from,
                   "Copy the namespace from this store into the current one")
        ->type_name("STORE")
        ->excludes(to);
    app.add_flag("--replace", args.replace,
                 "Replace the namespace where it is copied to when it exists there");
}

void declare_help(CLI::App& app, Arguments& args) {
    app.add_option("command", args.topic, "Command to describe");
}

// --- handlers ----------------------------------------------------------------------------------

int run_set(Context& ctx) {
    const auto& args = ctx.args;
    const auto ttl = ttl_of(args);
    if (args.value && *args.value != "-") {
        ctx.session(OpenMode::create).set(args.cache, args.key, *args.value, ttl);
        return k_found;
    }
    // From stdin, a value of any size in bounded memory: past 1 MiB it goes to a temporary
    // file, and from there to the store in chunks.
    Spool value(engine::k_largest_inline_value);
    value.append_all(STDIN_FILENO, "input (stdin)");
    ctx.session(OpenMode::create).set(args.cache, args.key, value, ttl);
    return k_found;
}

int run_get(Context& ctx) {
    const auto& args = ctx.args;
    // The value goes to stdout piece by piece, as it is read: a value of any size in bounded
    // memory.
    std::fflush(stdout);
    StreamSink out(STDOUT_FILENO, "stdout");
    auto found = ctx.session(OpenMode::read).read_value(args.cache, args.key, out.sink());
    // -v says hit or miss, as for run.
    if (!found.ok()) {
        ctx.note("miss: " + no_such_cache(args.cache));
        return k_not_found;
    }
    if (!found.value) {
        ctx.note(fmt::format("miss: no such key '{}' in cache '{}'", args.key, args.cache));
        return k_not_found;
    }
    ctx.note(fmt::format("hit: key '{}' in cache '{}'", args.key, args.cache));
    // On a terminal, end the line so the prompt does not run on; never when piped.
    if (stdout_is_terminal() && out.last() && *out.last() != '\n') {
        out.sink()("\n");
    }
    if (!out.failure().empty()) {
        throw StoreError(out.failure());
    }
    return k_found;
}

int run_del(Context& ctx) {
    const auto removed = ctx.session(OpenMode::write).erase(ctx.args.cache, ctx.args.keys);
    if (!removed.ok()) {
        return ctx.not_found(no_such_cache(ctx.args.cache));
    }
    if (removed.value == 0) {
        return ctx.not_found(fmt::format("no such key in cache '{}'", ctx.args.cache));
    }
    ctx.note(fmt::format("removed {} of {} keys", removed.value, ctx.args.keys.size()));
    return k_found;
}

int run_keys(Context& ctx) {
    const auto found = ctx.session(OpenMode::read).keys(ctx.args.cache);
    if (!found.ok()) {
        return ctx.not_found(no_such_cache(ctx.args.cache));
    }
    const auto& keys = found.value;
    if (ctx.global.json) {
        write_json(json::Writer().strings(keys));
    } else {
        write_lines(keys, ctx.args.nul);
    }
    return k_found;
}

int run_list(Context& ctx) {
    const auto caches = ctx.session(OpenMode::read).list();
    if (!ctx.global.json) {
        for (const auto& cache : caches) {
            write_out(cache.name + "\n");
        }
        return k_found;
    }
    json::Writer out;
    out.begin_array();
    for (const auto& cache : caches) {
        out.begin_object()
            .key("name")
            .string(cache.name)
            .key("entries")
            .integer(cache.entries)
            .key("bytes")
            .integer(cache.bytes)
            .key("parents")
            .strings(cache.parents)
            .key("children")
            .strings(cache.children)
            .end_object();
    }
    write_json(out.end_array());
    return k_found;
}

int run_depend(Context& ctx) {
    ctx.session(OpenMode::create).depend(ctx.args.parent, ctx.args.child);
    return k_found;
}

int run_undepend(Context& ctx) {
    if (!ctx.session(OpenMode::write).undepend(ctx.args.parent, ctx.args.child)) {
        return ctx.not_found(
            fmt::format("no dependency '{}' -> '{}'", ctx.args.parent, ctx.args.child));
    }
    return k_found;
}

void print_cache_names(const Context& ctx, const std::vector<std::string>& names) {
    if (ctx.global.json) {
        write_json(json::Writer().strings(names));
    } else {
        write_lines(names);
    }
}

int run_invalidate(Context& ctx) {
    const auto& args = ctx.args;
    const auto mode = args.dry_run ? OpenMode::read : OpenMode::write;
    const auto result = ctx.session(mode).invalidate(args.cache, args.optional_key, args.dry_run);
    if (!result.ok()) {
        return ctx.not_found(no_such_cache(args.cache));
    }
    const auto& cleared = result.value;
    if (args.dry_run) {
        print_cache_names(ctx, cleared);
    } else {
        ctx.note(fmt::format("cleared {} cache(s)", cleared.size()));
    }
    return k_found;
}

int run_drop(Context& ctx) {
    const auto result = ctx.session(OpenMode::write).drop(ctx.args.cache);
    if (!result.ok()) {
        return ctx.not_found(no_such_cache(ctx.args.cache));
    }
    const auto& cleared = result.value;
    ctx.note(
        fmt::format("dropped '{}', cleared {} dependent cache(s)", ctx.args.cache, cleared.size()));
    return k_found;
}

int run_export(Context& ctx) {
    ProgressBar bar("export");
    const auto status = ctx.session(OpenMode::read)
                            .export_entries(ctx.args.cache, write_out,
                                            [&](std::size_t done, std::size_t total) {
                                                bar.update(done, total);
                                            });
    if (status != Status::ok) {
        return ctx.not_found(no_such_cache(ctx.args.cache));
    }
    return k_found;
}

int run_copy(Context& ctx) {
    const auto& args = ctx.args;
    if (!args.copy_to && !args.copy_from) {
        throw UsageError("copy needs --to STORE or --from STORE");
    }
    const bool outward = args.copy_to.has_value();
    const Location other =
        store_location(outward ? *args.copy_to : *args.copy_from, ctx.location().name_space);
    std::unique_ptr<Namespace> there;
    const auto other_store = [&](OpenMode mode) -> Namespace& {
        if (!there) {
            there = ctx.open(other, mode);
        }
        return *there;
    };
    Namespace& source = outward ? ctx.session(OpenMode::read) : other_store(OpenMode::read);
    Namespace* receiver = nullptr;
    // The receiver is opened (and created) once the source is known to hold caches.
    const auto copied = source.copy_to(
        [&]() -> Namespace& {
            receiver = outward ? &other_store(OpenMode::create) : &ctx.session(OpenMode::create);
            return *receiver;
        },
        args.replace);
    if (!copied) {
        throw UsageError(fmt::format("namespace '{}' exists in {} already (--replace replaces it)",
                                     other.name_space, receiver->store_name()));
    }
    ctx.note(fmt::format("copied namespace '{}': {} caches, {} entries, {} edges, to {}",
                         other.name_space, copied->caches, copied->entries, copied->edges,
                         receiver->store_name()));
    return k_found;
}

int run_import(Context& ctx) {
    const auto& args = ctx.args;
    MappedInput input(args.file);
    const std::string source = args.file == "-" ? "stdin" : args.file;
    std::size_t count = 0;
    {
        ProgressBar bar("import");
        Progress progress; // counting lines for the bar reads the whole input once more
        if (bar.enabled()) {
            progress = [&bar](std::size_t done, std::size_t total) { bar.update(done, total); };
        }
        count = ctx.session(OpenMode::create)
                    .import_entries(args.cache, input.data(), source, progress,
                                    [&input](const char* read_up_to) { input.release(read_up_to); });
    }
    ctx.note(fmt::format("imported {} entries into '{}'", count, args.cache));
    return k_found;
}

int run_deps(Context& ctx) {
    const auto found = ctx.session(OpenMode::read).dependencies(ctx.args.cache, ctx.args.all);
    if (!found.ok()) {
        return ctx.not_found(no_such_cache(ctx.args.cache));
    }
    const auto& deps = found.value;
    if (ctx.global.json) {
        write_json(json::Writer()
                       .begin_object()
                       .key("name")
                       .string(ctx.args.cache)
                       .key("parents")
                       .strings(deps.parents)
                       .key("children")
                       .strings(deps.children)
                       .end_object());
        return k_found;
    }
    for (const auto& parent : deps.parents) {
        write_out("parent\t" + parent + "\n");
    }
    for (const auto& child : deps.children) {
        write_out("child\t" + child + "\n");
    }
    return k_found;
}

void declare_complete(CLI::App& app, Arguments& args) {
    app.add_option("what", args.complete_what, "commands, caches, keys or namespaces")->required();
    app.add_option("cache", args.optional_cache, "The cache whose keys to list");
}

// Candidates for the shell completions, one per line. Never fails loudly and never runs a
// hook: a completion must be quick and silent.
int run_complete(Context& ctx) {
    const auto& what = ctx.args.complete_what;
    try {
        if (what == "commands") {
            for (const auto& command : commands()) {
                if (!command.hidden) {
                    write_out(std::string(command.name) + "\n");
                }
            }
        } else if (what == "namespaces") {
            // The files of the directory (without opening a store there), or the server's rows.
            const Location& location = ctx.location();
            const auto names = location.store.empty()
                                   ? list_namespaces(location.dir)
                                   : ctx.session(OpenMode::read).namespaces();
            for (const auto& name : names) {
                write_out(name + "\n");
            }
        } else if (what == "caches" || what == "keys") {
            Namespace& session = ctx.session(OpenMode::read);
            if (what == "caches") {
                for (const auto& cache : session.list()) {
                    write_out(cache.name + "\n");
                }
            } else if (ctx.args.optional_cache) {
                write_lines(session.stored_keys(*ctx.args.optional_cache).value);
            }
        }
    } catch (const Error&) {
        // no candidates
    }
    return k_found;
}

void declare_completions(CLI::App& app, Arguments& args) {
    app.add_option("shell", args.shell, "bash, zsh or fish")
        ->required()
        ->check(CLI::IsMember({"bash", "zsh", "fish"}));
}

int run_completions(Context& ctx) {
    const auto& shell = ctx.args.shell;
    write_out(shell == "bash"  ? embedded_bash_completion()
              : shell == "zsh" ? embedded_zsh_completion()
                               : embedded_fish_completion());
    return k_found;
}

// `help` is dispatched by the parser (it needs the CLI11 tree); this entry only documents it.
int run_help(Context& /*ctx*/) {
    return k_found;
}

} // namespace

Namespace& Context::session(OpenMode mode) {
    if (!m_session) {
        m_session = open(location(), mode);
    }
    return *m_session;
}

std::unique_ptr<Namespace> Context::open(const Location& where, OpenMode mode) const {
    engine::EngineOptions options;
    options.busy_timeout_ms = busy_timeout_ms();
    // Checked here so that an invalid test clock fails every command that opens a store, not
    // only those that happen to read the time.
    (void)process_test_clock_time();
    return Namespace::open(where, mode, options);
}

bool copy_names_store_url(const Arguments& args) {
    return (args.copy_to && cacheman::names_store_url(*args.copy_to)) ||
           (args.copy_from && cacheman::names_store_url(*args.copy_from));
}

const Location& Context::location() {
    if (!m_location) {
        if (auto store = resolve_store(global.store, global.dir)) {
            m_location = Location{{}, resolve_namespace(global.name_space), std::move(*store)};
        } else {
            m_location = resolve_location(global.dir, global.name_space);
        }
    }
    return *m_location;
}

void Context::note(std::string_view message) const {
    if (global.verbose && !global.quiet) {
        print_note(message);
    }
}

int Context::not_found(std::string_view message) const {
    if (!global.quiet) {
        print_error(message);
    }
    return k_not_found;
}

std::string no_such_cache(std::string_view cache) {
    return fmt::format("no such cache '{}'", cache);
}

const std::vector<Command>& commands() {
    static const std::vector<Command> k_commands{
        {"set", "Store a value (from stdin when VALUE is absent or '-')",
         "cacheman set --ttl 1h weather today sunny", declare_set, run_set},
        {"get", "Print a value's exact bytes; exit 1 on a miss", "cacheman get weather today",
         declare_cache_key, run_get},
        {"del", "Remove keys; exit 1 when none was there", "cacheman del weather today tomorrow",
         declare_del, run_del},
        {"keys", "List a cache's keys in byte order", "cacheman keys weather", declare_keys,
         run_keys},
        {"list", "List the namespace's caches", "cacheman --json list", declare_nothing, run_list},
        {"depend", "Record that CHILD is computed from PARENT", "cacheman depend raw report",
         declare_edge, run_depend},
        {"undepend", "Remove a dependency edge", "cacheman undepend raw report", declare_edge,
         run_undepend},
        {"invalidate", "Clear a cache (or one key) and every cache that depends on it",
         "cacheman invalidate --dry-run raw", declare_invalidate, run_invalidate},
        {"drop", "Clear a cache's dependents, then remove the cache and its edges",
         "cacheman drop scratch", declare_cache, run_drop},
        {"export", "Write a cache as JSON Lines", "cacheman export weather > weather.jsonl",
         declare_cache, run_export},
        {"import", "Add JSON Lines entries to a cache, all or nothing",
         "cacheman import weather weather.jsonl", declare_import, run_import},
        {"deps", "Show a cache's parents and children", "cacheman deps --all report", declare_deps,
         run_deps},
        {"run", "Memoize a command: replay its output, or run it once and record it",
         "cacheman run --watch src -- make -C src", declare_run, run_run},
        {"create", "Create a cache, or change its settings: hooks, default ttl, volatility",
         "cacheman create --builder 'fetch-rates' --ttl 1h rates", declare_create, run_create},
        {"show", "Print a cache's settings", "cacheman show rates", declare_cache, run_show},
        {"rebuild", "Run the builder: its output replaces the contents; clears dependents",
         "cacheman rebuild rates", declare_cache, run_rebuild},
        {"reload", "Run the loader (checked by the validator), else fall back to the builder",
         "cacheman reload --cascade rates", declare_cascade, run_reload},
        {"save", "Pipe the contents through the pre-processor into the saver",
         "cacheman save --cascade rates", declare_cascade, run_save},
        {"stats", "Per cache: entries, bytes, hits, misses, last invalidation", "cacheman stats",
         declare_optional_cache, run_stats},
        {"graph", "Print the dependency graph (Graphviz dot, or JSON)",
         "cacheman graph | dot -Tsvg > caches.svg", declare_graph, run_graph},
        {"why", "Print the chains of parents through which a cache would be invalidated",
         "cacheman why report", declare_cache, run_why},
        {"log", "Print the invalidation history, newest first", "cacheman log --limit 5 report",
         declare_log, run_log},
        {"check", "Check the store: integrity, schema version, orphan edges; exit 3 if damaged",
         "cacheman check", declare_nothing, run_check},
        {"gc", "Remove expired entries, apply size limits, give the freed space back",
         "cacheman gc --max-bytes 1G", declare_gc, run_gc},
        {"copy", "Copy the namespace to or from another store, in one transaction there",
         "cacheman copy --to postgresql://ci@db.example/cache", declare_copy, run_copy},
        {"completions", "Print the completion script for bash, zsh or fish",
         "source <(cacheman completions bash)", declare_completions, run_completions},
        {"help", "Describe a command", "cacheman help invalidate", declare_help, run_help},
        {"__complete", "Candidates for shell completion", "cacheman __complete caches",
         declare_complete, run_complete, true},
    };
    return k_commands;
}

const Command* find_command(std::string_view name) {
    for (const auto& command : commands()) {
        if (command.name == name) {
            return &command;
        }
    }
    return nullptr;
}

} // namespace cacheman::cli

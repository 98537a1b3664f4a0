#include "commands/InspectCommands.hpp"

#include "base/Error.hpp"
#include "base/Size.hpp"
#include "jsonl/Writer.hpp"
#include "Output.hpp"

#include <CLI/CLI.hpp>
#include <ctime>
#include <fmt/core.h>

namespace cacheman::cli {

namespace {

constexpr int k_exit_damaged = 3;

// A name inside a Graphviz double-quoted ID.
std::string dot_id(std::string_view name) {
    std::string out = "\"";
    for (const char c : name) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "\"";
}

std::string joined(const std::vector<std::string>& items, std::string_view separator) {
    std::string out;
    for (const auto& item : items) {
        out += out.empty() ? "" : std::string(separator);
        out += item;
    }
    return out;
}

} // namespace

std::string local_time(double unix_seconds) {
    const auto seconds = static_cast<std::time_t>(unix_seconds);
    std::tm parts{};
    localtime_r(&seconds, &parts);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &parts);
    return text;
}

void declare_optional_cache(CLI::App& app, Arguments& args) {
    app.add_option("cache", args.optional_cache, "Only this cache");
}

void declare_graph(CLI::App& app, Arguments& args) {
    app.add_option("--format", args.format, "dot (Graphviz, the default) or json")
        ->check(CLI::IsMember({"dot", "json"}));
}

void declare_log(CLI::App& app, Arguments& args) {
    declare_optional_cache(app, args);
    app.add_option("--limit", args.limit, "At most this many entries, newest first (default 20)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
}

int run_stats(Context& ctx) {
    auto caches = ctx.session(OpenMode::write).stats();
    if (const auto& only = ctx.args.optional_cache) {
        std::erase_if(caches, [&](const engine::CacheSummary& c) { return c.name != *only; });
        if (caches.empty()) {
            return ctx.not_found(no_such_cache(*only));
        }
    }
    if (ctx.global.json) {
        json::Writer out;
        out.begin_array();
        for (const auto& c : caches) {
            out.begin_object()
                .key("name")
                .string(c.name)
                .key("entries")
                .integer(c.entries)
                .key("bytes")
                .integer(c.bytes)
                .key("hits")
                .integer(c.hits)
                .key("misses")
                .integer(c.misses)
                .key("last_invalidated")
                .seconds_or_null(c.invalidated)
                .key("volatile")
                .boolean(c.is_volatile)
                .end_object();
        }
        write_json(out.end_array());
        return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : caches) {
        rows.push_back({c.name, std::to_string(c.entries), std::to_string(c.bytes),
                        std::to_string(c.hits), std::to_string(c.misses),
                        c.invalidated ? local_time(*c.invalidated) : "-"});
    }
    write_table({"CACHE", "ENTRIES", "BYTES", "HITS", "MISSES", "LAST INVALIDATED"}, rows);
    return 0;
}

int run_graph(Context& ctx) {
    Namespace& session = ctx.session(OpenMode::read);
    const auto caches = session.list();
    const auto edges = session.edges();
    if (ctx.global.json || ctx.args.format == "json") {
        std::vector<std::string> names;
        for (const auto& c : caches) {
            names.push_back(c.name);
        }
        json::Writer out;
        out.begin_object().key("nodes").strings(names).key("edges").begin_array();
        for (const auto& edge : edges) {
            out.begin_object()
                .key("parent")
                .string(edge.parent)
                .key("child")
                .string(edge.child)
                .end_object();
        }
        write_json(out.end_array().end_object());
        return 0;
    }
    std::string out = "digraph cacheman {\n    rankdir=LR;\n";
    for (const auto& c : caches) {
        out += "    " + dot_id(c.name) + (c.is_volatile ? " [style=dashed];\n" : ";\n");
    }
    for (const auto& edge : edges) {
        out += "    " + dot_id(edge.parent) + " -> " + dot_id(edge.child) + ";\n";
    }
    write_out(out + "}\n");
    return 0;
}

int run_why(Context& ctx) {
    Namespace& session = ctx.session(OpenMode::read);
    if (!session.dependencies(ctx.args.cache, false).ok()) {
        return ctx.not_found(no_such_cache(ctx.args.cache));
    }
    constexpr std::size_t k_max_chains = 1000;
    const auto chains = Graph(session.edges()).chains_to(ctx.args.cache, k_max_chains);
    if (ctx.global.json) {
        json::Writer out;
        out.begin_array();
        for (const auto& chain : chains) {
            out.strings(chain);
        }
        write_json(out.end_array());
        return 0;
    }
    for (const auto& chain : chains) {
        write_out(format_path(chain) + "\n");
    }
    if (chains.empty()) {
        ctx.note("'" + ctx.args.cache + "' depends on no other cache");
    }
    return 0;
}

int run_log(Context& ctx) {
    const auto entries = ctx.session(OpenMode::read).log(ctx.args.optional_cache, ctx.args.limit);
    if (ctx.global.json) {
        json::Writer out;
        out.begin_array();
        for (const auto& e : entries) {
            out.begin_object()
                .key("at")
                .seconds(e.at)
                .key("command")
                .string(e.command)
                .key("cache")
                .string(e.cache)
                .key("cleared")
                .strings(e.cleared)
                .end_object();
        }
        write_json(out.end_array());
        return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : entries) {
        rows.push_back({local_time(e.at), e.command, e.cache, joined(e.cleared, ",")});
    }
    write_table({"WHEN", "COMMAND", "CACHE", "CLEARED"}, rows);
    return 0;
}

int run_check(Context& ctx) {
    const engine::CheckReport report = ctx.session(OpenMode::read).check();
    if (ctx.global.json) {
        write_json(json::Writer()
                       .begin_object()
                       .key("ok")
                       .boolean(report.healthy())
                       .key("integrity")
                       .strings(report.integrity)
                       .key("schema_version")
                       .integer(report.schema_version)
                       .key("problems")
                       .strings(report.problems)
                       .end_object());
    } else {
        write_out("integrity: " + joined(report.integrity, "; ") + "\n");
        write_out(fmt::format("schema version: {}\n", report.schema_version));
        for (const auto& problem : report.problems) {
            write_out("problem: " + problem + "\n");
        }
    }
    if (!report.healthy()) {
        print_error("the store is damaged (" + ctx.location().path() + ")");
        return k_exit_damaged;
    }
    return 0;
}

void declare_gc(CLI::App& app, Arguments& args) {
    app.add_option("--max-bytes", args.max_bytes,
                   "Also evict the least recently used entries of the namespace beyond SIZE of "
                   "values (512K, 100M, 2G)");
}

int run_gc(Context& ctx) {
    const auto max_bytes = ctx.args.max_bytes
                               ? std::optional<std::int64_t>(parse_size(*ctx.args.max_bytes))
                               : std::nullopt;
    const engine::Removed removed = ctx.session(OpenMode::write).gc(max_bytes);
    if (ctx.global.json) {
        write_json(json::Writer()
                       .begin_object()
                       .key("entries")
                       .integer(removed.entries)
                       .key("bytes")
                       .integer(removed.bytes)
                       .end_object());
    } else {
        write_out(fmt::format("removed {} {}, {} bytes\n", removed.entries,
                              removed.entries == 1 ? "entry" : "entries", removed.bytes));
    }
    return 0;
}

} // namespace cacheman::cli

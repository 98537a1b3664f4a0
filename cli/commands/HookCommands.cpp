#include "commands/HookCommands.hpp"

#include "base/Duration.hpp"
#include "base/Size.hpp"
#include "jsonl/Writer.hpp"
#include "Output.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

namespace cacheman::cli {

using engine::CacheSettings;

namespace {

struct HookSetting {
    const char* option;
    const char* json_name;
    std::optional<std::string> Arguments::*argument;
    std::optional<std::string> CacheSettings::*setting;
    const char* help;
};

constexpr HookSetting k_hooks[] = {
    {"--builder", "builder", &Arguments::builder, &CacheSettings::builder,
     "Prints the contents (JSON Lines) when the cache is built"},
    {"--loader", "loader", &Arguments::loader, &CacheSettings::loader,
     "Prints the contents on reload"},
    {"--saver", "saver", &Arguments::saver, &CacheSettings::saver,
     "Reads the contents on save (and auto-sync)"},
    {"--validator", "validator", &Arguments::validator, &CacheSettings::validator,
     "Reads the loader's output; exit 0 accepts it"},
    {"--deleter", "deleter", &Arguments::deleter, &CacheSettings::deleter, "Runs on drop"},
    {"--pre-processor", "pre_processor", &Arguments::pre_processor, &CacheSettings::pre_processor,
     "Filters the contents before the saver"},
    {"--post-processor", "post_processor", &Arguments::post_processor,
     &CacheSettings::post_processor, "Filters the loader's or builder's output"},
};

std::optional<std::string> empty_as_none(const std::string& text) {
    return text.empty() ? std::nullopt : std::optional<std::string>(text);
}

void apply(const Arguments& args, CacheSettings& settings) {
    for (const auto& hook : k_hooks) {
        if (const auto& given = args.*(hook.argument)) {
            settings.*(hook.setting) = empty_as_none(*given);
        }
    }
    if (args.ttl) {
        settings.default_ttl =
            args.ttl->empty() ? std::nullopt : std::optional<Duration>(parse_duration(*args.ttl));
    }
    if (args.make_volatile) {
        settings.is_volatile = *args.make_volatile;
    }
    if (args.autosync) {
        settings.autosync = *args.autosync;
    }
    if (args.max_entries) {
        settings.max_entries = args.max_entries->empty()
                                   ? std::nullopt
                                   : std::optional<std::int64_t>(parse_count(*args.max_entries));
    }
    if (args.max_bytes) {
        settings.max_bytes = args.max_bytes->empty()
                                 ? std::nullopt
                                 : std::optional<std::int64_t>(parse_size(*args.max_bytes));
    }
    if (args.autosync_checks) {
        settings.autosync_checks =
            args.autosync_checks->empty()
                ? std::nullopt
                : std::optional<std::vector<TimeCheck>>(parse_time_checks(*args.autosync_checks));
    }
}

} // namespace

void declare_create(CLI::App& app, Arguments& args) {
    app.add_option("cache", args.cache, "Cache name")->required();
    for (const auto& hook : k_hooks) {
        app.add_option(hook.option, args.*(hook.argument),
                       std::string(hook.help) + " (a shell command; '' removes it)");
    }
    app.add_option("--ttl", args.ttl, "Default expiry of its entries ('' removes it)");
    app.add_flag_callback(
        "--volatile", [&args] { args.make_volatile = true; },
        "Keep its contents off persistent disk (in the runtime directory)");
    app.add_flag_callback(
        "--no-volatile", [&args] { args.make_volatile = false; },
        "Keep its contents in the namespace file (the default)");
    app.add_flag_callback(
        "--autosync", [&args] { args.autosync = true; },
        "Run the saver when the auto-sync rules hold (default with a saver)");
    app.add_flag_callback(
        "--no-autosync", [&args] { args.autosync = false; }, "Never run the saver by itself");
    app.add_option("--autosync-checks", args.autosync_checks,
                   "WINDOW_SECONDS:EDITS,... (default 60:10000,300:10,900:1; '' resets)");
    app.add_option("--max-entries", args.max_entries,
                   "Evict the least recently used entries beyond N ('' removes the limit)");
    app.add_option("--max-bytes", args.max_bytes,
                   "Evict the least recently used entries beyond SIZE of values (512K, 100M, 2G; "
                   "'' removes the limit)");
}

void declare_cascade(CLI::App& app, Arguments& args) {
    app.add_option("cache", args.cache, "Cache name")->required();
    app.add_flag("--cascade", args.cascade, "Apply to its dependents too (dependents first)");
}

int run_create(Context& ctx) {
    const Arguments& args = ctx.args;
    CacheSettings validated; // parse every value before touching the store
    apply(args, validated);
    ctx.session(OpenMode::create).configure(args.cache, [&](CacheSettings& settings) {
        apply(args, settings);
    });
    return 0;
}

int run_show(Context& ctx) {
    const std::string& name = ctx.args.cache;
    const auto found = ctx.session(OpenMode::read).settings(name);
    if (!found) {
        return ctx.not_found(no_such_cache(name));
    }
    const CacheSettings& settings = *found;
    const std::string checks = format_time_checks(settings.checks());
    if (ctx.global.json) {
        json::Writer out;
        out.begin_object().key("name").string(name);
        for (const auto& hook : k_hooks) {
            out.key(hook.json_name).string_or_null(settings.*(hook.setting));
        }
        out.key("ttl_ms");
        if (settings.default_ttl) {
            out.integer(settings.default_ttl->count());
        } else {
            out.null();
        }
        out.key("volatile")
            .boolean(settings.is_volatile)
            .key("autosync")
            .boolean(settings.autosync_on())
            .key("autosync_checks")
            .string(checks);
        for (const auto& [label, limit] : {std::pair{"max_entries", settings.max_entries},
                                           std::pair{"max_bytes", settings.max_bytes}}) {
            out.key(label);
            if (limit) {
                out.integer(*limit);
            } else {
                out.null();
            }
        }
        write_json(out.end_object());
        return 0;
    }
    const auto line = [](std::string_view label, std::string_view value) {
        write_out(fmt::format("{:<16}{}\n", label, value));
    };
    line("name", name);
    for (const auto& hook : k_hooks) {
        line(hook.json_name, (settings.*(hook.setting)).value_or("-"));
    }
    line("ttl", settings.default_ttl ? fmt::format("{}ms", settings.default_ttl->count()) : "-");
    line("volatile", settings.is_volatile ? "yes" : "no");
    line("autosync", settings.autosync_on() ? "on" : "off");
    line("autosync_checks", checks);
    line("max_entries", settings.max_entries ? std::to_string(*settings.max_entries) : "-");
    line("max_bytes", settings.max_bytes ? format_size(*settings.max_bytes) : "-");
    return 0;
}

int run_rebuild(Context& ctx) {
    if (ctx.session(OpenMode::write).rebuild(ctx.args.cache) != Status::ok) {
        return ctx.not_found(no_such_cache(ctx.args.cache));
    }
    return 0;
}

int run_reload(Context& ctx) {
    const auto fallbacks = ctx.session(OpenMode::write).reload(ctx.args.cache, ctx.args.cascade);
    if (!fallbacks.ok()) {
        return ctx.not_found(no_such_cache(ctx.args.cache));
    }
    for (const auto& reason : fallbacks.value) {
        if (!ctx.global.quiet) {
            print_note(reason);
        }
    }
    return 0;
}

int run_save(Context& ctx) {
    if (ctx.session(OpenMode::write).save(ctx.args.cache, ctx.args.cascade) != Status::ok) {
        return ctx.not_found(no_such_cache(ctx.args.cache));
    }
    return 0;
}

} // namespace cacheman::cli

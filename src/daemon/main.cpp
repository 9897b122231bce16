#include "daemon/main.hpp"

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "core/logging.hpp"
#include "daemon/one_shot.hpp"
#include "daemon/record_commands.hpp"
#include "daemon/runtime.hpp"
#include "daemon/settings.hpp"

namespace imagefactory {

namespace {

constexpr const char* kDescription =
    "Image Factory builds virtual machine images for many clouds from one TDL template, pushes "
    "them to providers and imports images that already exist there.\n\n"
    "Modes:\n"
    "  imagefactory --qmf [--qpidd BROKER]        run the QMF2 agent daemon\n"
    "  imagefactory --template T --target X ...    build; prints ids and follows the jobs\n"
    "  imagefactory --image I --provider P --credentials C    push\n"
    "  imagefactory --target-image ID --image-desc XML --target T --provider P    import\n"
    "  imagefactory images | show ID | log ID      read the image store\n";

void defineOptions(CLI::App& app, Settings& s) {
    app.set_version_flag("--version", std::string("imagefactory ") + kVersion);
    app.add_flag("-v,--verbose", s.verbose, "log at info level");
    app.add_flag("--debug", s.debug, "log at debug level (wins over --verbose)");
    app.add_option("--config", s.config_file,
                   "JSON config file; its keys are the long option names with underscores "
                   "(imgdir, qpidd, ...); options given here win")
        ->capture_default_str();
    app.add_option("--imgdir", s.imgdir,
                   std::string("data directory for the image store and image files (default ") +
                       kDefaultDataDir + ")");
    app.add_option("--tmpdir", s.tmpdir, "directory for temporary files of tools (sets TMPDIR)");
    app.add_option("--providers-dir", s.providers_dir,
                   "folder with providers.json, rhevm.json and vsphere.json (default: the "
                   "config file's folder)");
    app.add_option(
        "--timeout", s.timeout,
        "seconds a build or push may run before it fails with type Timeout (default: no limit)");
    app.add_option("--max-concurrent-builds", s.max_concurrent_local_sessions,
                   "builds that run at once; the rest wait as PENDING (default 2)");
    app.add_option("--max-concurrent-pushes", s.max_concurrent_push_sessions,
                   "pushes that run at once (default 2)");
    app.add_flag("--boot-check", s.boot_check,
                 "boot real images under QEMU before calling them COMPLETED");
    app.add_option("--log-file", s.log_file, "log file of the daemon when not in foreground");

    auto* daemon = "Daemon";
    app.add_flag("--qmf", s.qmf, "run the QMF2 agent on the message bus")->group(daemon);
    app.add_option("--qpidd,--broker", s.qpidd,
                   "broker: HOST, HOST:PORT or amqp://[USER:PASS@]HOST[:PORT] "
                   "(default localhost:5672)")
        ->group(daemon);
    app.add_option("--broker-type", s.broker_type,
                   "qpidd or rabbitmq; default: detected from the broker's identity")
        ->check(CLI::IsMember({"auto", "qpidd", "rabbitmq"}))
        ->group(daemon);
    app.add_flag("--foreground", s.foreground, "do not daemonize; log to stderr")->group(daemon);
    app.add_option("--pid-file", s.pid_file,
                   "pid file of the daemon (default /run/imagefactory.pid)")
        ->group(daemon);
    app.add_option("--heartbeat-interval", s.heartbeat_interval,
                   "seconds between agent heartbeats (default 10)")
        ->group(daemon);

    auto* jobs = "One-shot jobs";
    app.add_option("--template", s.template_argument,
                   "build: template as XML, file path, http(s) URL or stored UUID")
        ->group(jobs);
    app.add_option("--target", s.targets, "build or import: target (repeatable), e.g. mock")
        ->group(jobs);
    app.add_option("--image", s.image, "push or rebuild: image UUID")->group(jobs);
    app.add_option("--build", s.build, "push: build UUID (default: the image's latest)")
        ->group(jobs);
    app.add_option("--provider", s.providers, "push or import: provider (repeatable)")->group(jobs);
    app.add_option(
           "--credentials", s.credentials,
           "push: <provider_credentials> XML, or a file holding it (condorcloud needs none)")
        ->group(jobs);
    app.add_option("--target-image", s.target_image,
                   "import: the provider's id of an existing image")
        ->group(jobs);
    app.add_option("--image-desc", s.image_desc, "import: <image> XML describing the image")
        ->group(jobs);

    auto* images = app.add_subcommand("images", "list images in the store");
    images->add_option("--output", s.output, "table or json")
        ->check(CLI::IsMember({"table", "json"}));
    auto* show = app.add_subcommand("show", "show one record (template, image, build, ...)");
    show->add_option("id", s.record_id, "UUID of the record")->required();
    show->add_option("--output", s.output, "table or json")
        ->check(CLI::IsMember({"table", "json"}));
    auto* log = app.add_subcommand("log", "print the log of a target or provider image's job");
    log->add_option("id", s.record_id, "UUID of the target or provider image")->required();
    app.require_subcommand(0, 1);
}

spdlog::level::level_enum logLevel(const Settings& s) {
    if (s.debug.value_or(false)) {
        return spdlog::level::debug;
    }
    if (s.verbose.value_or(false)) {
        return spdlog::level::info;
    }
    return spdlog::level::warn;
}

}  // namespace

int runImagefactory(int argc, char** argv) {
    Settings settings;
    CLI::App app(kDescription, "imagefactory");
    defineOptions(app, settings);

    if (argc <= 1) {
        std::cout << app.help();
        return 0;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    settings.config_file_given = app.count("--config") > 0;
    if (!app.get_subcommands().empty()) {
        settings.command = app.get_subcommands().front()->get_name();
    }

    Status configured = applyConfigFile(settings);
    if (configured.ok()) {
        configured = checkSettings(settings);
    }
    if (!configured.ok()) {
        std::cerr << "imagefactory: " << configured.error().message << "\n";
        return exitStatusFor(configured.error().code);
    }
    if (settings.tmpdir) {
        setenv("TMPDIR", settings.tmpdir->c_str(), 1);
    }

    if (!settings.command.empty()) {
        configureLogging(logLevel(settings));
        return runRecordCommand(settings);
    }
    if (settings.qmf) {
        return runDaemon(settings, logLevel(settings));
    }

    configureLogging(logLevel(settings));
    return runOneShot(settings);
}

}  // namespace imagefactory

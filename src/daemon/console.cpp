#include "daemon/console.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "amqp/broker_address.hpp"
#include "core/logging.hpp"
#include "daemon/console_session.hpp"
#include "daemon/one_shot.hpp"
#include "qmf/schema.hpp"
#include "qmf/value_json.hpp"

namespace imagefactory {
namespace {

using nlohmann::json;
using qmf::console::DataObject;
using qmf::console::Event;

constexpr const char* kDescription =
    "QMF2 console for Image Factory: talks to the imagefactory agent (imagefactory --qmf) "
    "through an AMQP 1.0 broker (RabbitMQ or qpidd).\n\n"
    "An ADDRESS is a BuildAdaptor object name (build_adaptor:build_image:<uuid>), as build and "
    "push print it, or its data address as JSON: "
    "{\"_agent_name\": ..., \"_object_name\": ...[, \"_agent_epoch\": N]}.\n\n"
    "Exit status: 0 on success; 1 when the agent returned an exception or a watched job "
    "failed; 2 for invalid input; 3 when no agent or object was found; 6 when the broker or "
    "a named agent does not answer.";

struct ConsoleSettings {
    std::string broker = "localhost:5672";
    std::string broker_type = "auto";
    std::string output = "text";
    std::string agent;
    double timeout_seconds = 30;
    bool timeout_given = false;
    bool verbose = false;

    std::string class_name = "BuildAdaptor";
    double wait_seconds = 2;
    std::string template_argument;
    std::vector<std::string> targets;
    std::string image;
    std::string build;
    std::vector<std::string> providers;
    std::string credentials;
    std::string target_identifier;
    std::string image_desc;
    std::string target;
    std::string provider;
    std::string address;
    std::vector<std::string> until_done;
    std::string queue;
    std::string method;
    std::string object;
    std::vector<std::string> arguments;
};

// A failure reported by the agent in an _exception, printed with its text.
constexpr int kRemoteFailure = 1;

int fail(const Error& error) {
    std::cerr << "imagefactory-console: " << error.message << "\n";
    return exitStatusFor(error.code);
}

int remoteFailure(const qmf::console::RemoteError& error) {
    std::cerr << "imagefactory-console: agent exception (error_code " << error.error_code
              << "): " << error.error_text << "\n";
    return kRemoteFailure;
}

std::string textOf(const qmf::Value& value) {
    if (auto text = value.text()) {
        return *text;
    }
    return qmf::toJson(value).dump();
}

std::chrono::milliseconds millisecondsOf(double seconds) {
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

// Reads --credentials: inline XML when it starts with '<', else the name of a file holding it.
bool isJsonAddress(const std::string& text) {
    return !text.empty() && text.front() == '{';
}

Result<qmf::ObjectAddress> parseAddress(const std::string& text, const std::string& agent_name) {
    if (isJsonAddress(text)) {
        auto parsed = json::parse(text, nullptr, false);
        if (parsed.is_discarded() || !parsed.is_object()) {
            return userError("invalid address '" + text + "': not a JSON object");
        }
        auto value = qmf::valueFromJson(parsed);
        if (!value || value->map() == nullptr) {
            return userError("invalid address '" + text + "'");
        }
        auto address = qmf::ObjectAddress::fromMap(*value->map());
        if (!address) {
            return userError("invalid address '" + text + "': " + address.error().message);
        }
        return address.value();
    }
    if (text.rfind("build_adaptor:", 0) != 0) {
        return userError("invalid address '" + text +
                         "': expected build_adaptor:<method>:<uuid> or a JSON data address");
    }
    return qmf::ObjectAddress{agent_name, text, 0};
}

json objectJson(const DataObject& object) {
    return {{"address", qmf::toJson(qmf::Value(object.address.toMap()))},
            {"class", object.schema_id.class_name},
            {"values", qmf::toJson(qmf::Value(object.values))}};
}

std::string eventObjectName(const Event& event) {
    auto it = event.values.find(std::string(qmf::schema::kAddr));
    if (it != event.values.end() && it->second.map() != nullptr) {
        return qmf::textField(*it->second.map(), "_object_name").value_or("?");
    }
    return "?";
}

void printEvent(const Event& event, const ConsoleSettings& settings) {
    if (settings.output == "json") {
        json line = {
            {"agent", event.agent_name},        {"class", event.schema_id.class_name},
            {"object", eventObjectName(event)}, {"severity", event.severity},
            {"timestamp", event.timestamp_ns},  {"values", qmf::toJson(qmf::Value(event.values))}};
        std::cout << line.dump() << std::endl;
        return;
    }
    auto field = [&](std::string_view key) {
        return qmf::textField(event.values, std::string(key)).value_or("");
    };
    std::string kind = field(qmf::schema::kEvent);
    std::cout << eventObjectName(event) << " " << kind;
    if (kind == qmf::schema::kEventStatus) {
        std::cout << " " << field(qmf::schema::kOldStatus) << " -> "
                  << field(qmf::schema::kNewStatus);
    } else if (kind == qmf::schema::kEventPercentage) {
        auto it = event.values.find(std::string(qmf::schema::kPercentComplete));
        std::cout << " " << (it != event.values.end() ? textOf(it->second) : "?");
    } else if (kind == qmf::schema::kEventFailure) {
        std::cout << " " << field(qmf::schema::kType) << ": " << field(qmf::schema::kInfo);
    }
    std::cout << std::endl;
}

// A line for a watched job that had ended before the watch began, shaped like an event line.
void printEndedBefore(const std::string& object, const std::string& status,
                      const ConsoleSettings& settings) {
    if (settings.output == "json") {
        std::cout
            << json{{"object", object}, {"status", status}, {"ended_before_watch", true}}.dump()
            << std::endl;
        return;
    }
    std::cout << object << " " << status << " (ended before the watch began)" << std::endl;
}

bool isFinalStatus(const std::string& status) {
    return status == "COMPLETED" || status == "FAILED";
}

class ConsoleCommands {
  public:
    ConsoleCommands(const ConsoleSettings& settings, ConsoleSession& session)
        : settings_(settings), session_(session) {}

    int agents() {
        auto agents = session_.listAgents(millisecondsOf(settings_.wait_seconds));
        if (!agents) {
            return fail(agents.error());
        }
        if (settings_.output == "json") {
            json out = json::array();
            for (const auto& agent : *agents) {
                out.push_back({{"name", agent.name},
                               {"vendor", agent.vendor},
                               {"product", agent.product},
                               {"instance", agent.instance},
                               {"epoch", agent.epoch},
                               {"heartbeat_interval", agent.heartbeat_interval_seconds}});
            }
            std::cout << out.dump(2) << std::endl;
        } else {
            for (const auto& agent : *agents) {
                std::cout << agent.name << " epoch=" << agent.epoch
                          << " heartbeat_interval=" << agent.heartbeat_interval_seconds << "s"
                          << std::endl;
            }
        }
        return 0;
    }

    int states() {
        return callFactory(std::string(qmf::schema::kInstanceStates),
                           {{std::string(qmf::schema::kClassName), settings_.class_name}});
    }

    int build() {
        qmf::List targets;
        for (const auto& target : settings_.targets) {
            targets.emplace_back(target);
        }
        // A file on this machine is sent as its text: the agent runs elsewhere, or in another
        // working directory, and would not find the path.
        std::string template_argument = settings_.template_argument;
        std::error_code ec;
        if (template_argument.find('<') == std::string::npos &&
            std::filesystem::is_regular_file(template_argument, ec)) {
            std::ifstream in(template_argument, std::ios::binary);
            std::ostringstream text;
            text << in.rdbuf();
            if (!in) {
                return fail(userError("cannot read template file " + template_argument));
            }
            template_argument = text.str();
        }
        return callFactory(std::string(qmf::schema::kBuildImage),
                           {{std::string(qmf::schema::kImage), settings_.image},
                            {std::string(qmf::schema::kBuild), settings_.build},
                            {std::string(qmf::schema::kTemplate), template_argument},
                            {std::string(qmf::schema::kTargets), targets}});
    }

    int push() {
        // No credentials is a valid push for condorcloud; the daemon names what is missing.
        Result<std::string> credentials = std::string();
        if (!settings_.credentials.empty()) {
            credentials = readCredentials(settings_.credentials);
        }
        if (!credentials) {
            return fail(credentials.error());
        }
        qmf::List providers;
        for (const auto& provider : settings_.providers) {
            providers.emplace_back(provider);
        }
        return callFactory(std::string(qmf::schema::kPushImage),
                           {{std::string(qmf::schema::kImage), settings_.image},
                            {std::string(qmf::schema::kBuild), settings_.build},
                            {std::string(qmf::schema::kProviders), providers},
                            {std::string(qmf::schema::kCredentials), *credentials}});
    }

    int importImage() {
        return callFactory(
            std::string(qmf::schema::kImportImage),
            {{std::string(qmf::schema::kImage), settings_.image},
             {std::string(qmf::schema::kBuild), settings_.build},
             {std::string(qmf::schema::kTargetIdentifier), settings_.target_identifier},
             {std::string(qmf::schema::kImageDesc), settings_.image_desc},
             {std::string(qmf::schema::kTarget), settings_.target},
             {std::string(qmf::schema::kProvider), settings_.provider}});
    }

    int status() {
        auto address = resolveAddress(settings_.address);
        if (!address) {
            return fail(address.error());
        }
        auto object = session_.queryObject(address->agent_name, *address);
        if (!object) {
            return fail(object.error());
        }
        if (settings_.output == "json") {
            std::cout << objectJson(*object).dump(2) << std::endl;
            return 0;
        }
        std::cout << "address: " << object->address.object_name << std::endl;
        for (const auto& [key, value] : object->values) {
            std::cout << key << ": " << textOf(value) << std::endl;
        }
        return 0;
    }

    int abort() {
        auto address = resolveAddress(settings_.address);
        if (!address) {
            return fail(address.error());
        }
        return printCall(
            session_.call(address->agent_name, *address, std::string(qmf::schema::kAbort), {}));
    }

    int call() {
        qmf::Map arguments;
        for (const auto& argument : settings_.arguments) {
            auto equals = argument.find('=');
            if (equals == std::string::npos || equals == 0) {
                return fail(userError("invalid --arg '" + argument + "': expected NAME=VALUE"));
            }
            std::string value_text = argument.substr(equals + 1);
            auto parsed = json::parse(value_text, nullptr, false);
            qmf::Value value(value_text);
            if (!parsed.is_discarded() && !parsed.is_string()) {
                if (auto converted = qmf::valueFromJson(parsed)) {
                    value = converted.value();
                }
            }
            arguments[argument.substr(0, equals)] = value;
        }
        if (settings_.object.empty()) {
            return callFactory(settings_.method, arguments);
        }
        auto address = resolveAddress(settings_.object);
        if (!address) {
            return fail(address.error());
        }
        return printCall(session_.call(address->agent_name, *address, settings_.method, arguments));
    }

    int watch() {
        std::optional<std::string> agent_name;
        std::set<std::string> waiting;
        bool failed = false;
        if (!settings_.until_done.empty()) {
            auto agent = session_.findImageFactory();
            if (!agent) {
                return fail(agent.error());
            }
            agent_name = agent->name;
            // Subscribed already, so a job that ends from now on is seen as an event; one that
            // ended before is found by its status.
            for (const auto& text : settings_.until_done) {
                auto address = parseAddress(text, agent->name);
                if (!address) {
                    return fail(address.error());
                }
                auto object = session_.queryObject(agent->name, *address);
                if (!object) {
                    return fail(object.error());
                }
                std::string status =
                    qmf::textField(object->values, std::string(qmf::schema::kStatus)).value_or("");
                if (isFinalStatus(status)) {
                    // Say so, or a job that ended before the watch would pass without a word.
                    printEndedBefore(address->object_name, status, settings_);
                    failed = failed || status == "FAILED";
                    continue;
                }
                waiting.insert(address->object_name);
            }
            if (waiting.empty()) {
                return failed ? kRemoteFailure : 0;
            }
        }

        // Scripts wait for this line before they start the work they want to watch.
        std::cerr << "imagefactory-console: watching events" << std::endl;
        auto deadline =
            std::chrono::steady_clock::now() + millisecondsOf(settings_.timeout_seconds);
        while (!settings_.timeout_given || std::chrono::steady_clock::now() < deadline) {
            auto event = session_.nextEvent(std::chrono::milliseconds(500));
            if (!event) {
                continue;
            }
            if (agent_name && event->agent_name != *agent_name) {
                continue;
            }
            printEvent(*event, settings_);
            std::string status =
                qmf::textField(event->values, std::string(qmf::schema::kNewStatus)).value_or("");
            std::string object = eventObjectName(*event);
            if (isFinalStatus(status) && waiting.erase(object) > 0) {
                failed = failed || status == "FAILED";
                if (waiting.empty()) {
                    return failed ? kRemoteFailure : 0;
                }
            }
        }
        return fail(Error{
            ErrorCode::Unavailable,
            "watch timed out with " + std::to_string(waiting.size()) + " job(s) still running"});
    }

  private:
    // A JSON address names its agent; an object name belongs to the Image Factory agent.
    Result<qmf::ObjectAddress> resolveAddress(const std::string& text) {
        if (isJsonAddress(text)) {
            return parseAddress(text, "");
        }
        auto agent = session_.findImageFactory();
        if (!agent) {
            return agent.error();
        }
        return parseAddress(text, agent->name);
    }

    int callFactory(const std::string& method, const qmf::Map& arguments) {
        auto agent = session_.findImageFactory();
        if (!agent) {
            return fail(agent.error());
        }
        auto factories = session_.queryClass(agent->name, std::string(qmf::schema::kImageFactory));
        if (!factories) {
            return fail(factories.error());
        }
        if (factories->empty()) {
            return fail(notFound("agent " + agent->name + " has no ImageFactory object"));
        }
        return printCall(session_.call(agent->name, factories->front().address, method, arguments));
    }

    int printCall(const Result<qmf::console::MethodReply>& reply) {
        if (!reply) {
            return fail(reply.error());
        }
        if (reply->exception) {
            return remoteFailure(*reply->exception);
        }
        if (settings_.output == "json") {
            std::cout << qmf::toJson(qmf::Value(reply->arguments)).dump(2) << std::endl;
            return 0;
        }
        for (const auto& [key, value] : reply->arguments) {
            if (key == qmf::schema::kBuildAdaptors && value.list() != nullptr) {
                for (const auto& address : *value.list()) {
                    if (address.map() != nullptr) {
                        std::cout << qmf::textField(*address.map(), "_object_name").value_or("?")
                                  << std::endl;
                    }
                }
                continue;
            }
            std::cout << key << ": " << textOf(value) << std::endl;
        }
        return 0;
    }

    const ConsoleSettings& settings_;
    ConsoleSession& session_;
};

void defineOptions(CLI::App& app, ConsoleSettings& s) {
    app.add_option("--broker", s.broker,
                   "broker: HOST, HOST:PORT or amqp://[USER:PASS@]HOST[:PORT]")
        ->capture_default_str();
    app.add_option("--broker-type", s.broker_type,
                   "address style: auto (from the broker's identity), qpidd or rabbitmq")
        ->check(CLI::IsMember({"auto", "qpidd", "rabbitmq"}))
        ->capture_default_str();
    app.add_option("--output", s.output, "text or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    app.add_option("--timeout", s.timeout_seconds,
                   "seconds to wait for the broker, the agent and each reply; for watch, the "
                   "whole watch (default: no limit)")
        ->check(CLI::PositiveNumber)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
        ->capture_default_str();
    app.add_option("--agent", s.agent,
                   "the agent to use (full name or instance UUID) when several run on the broker "
                   "(default: the first that answers)");
    app.add_flag("-v,--verbose", s.verbose, "log connection events to stderr");

    app.add_subcommand("agents", "list the QMF agents that answer a locate or send heartbeats")
        ->add_option("--wait", s.wait_seconds, "seconds to collect answers")
        ->capture_default_str();

    app.add_subcommand("states", "show the state machine of a QMF class (instance_states)")
        ->add_option("class", s.class_name, "class name")
        ->capture_default_str();

    auto* build = app.add_subcommand("build", "build an image for one or more targets");
    build->add_option("--template", s.template_argument, "TDL XML, file path, URL or UUID")
        ->required();
    build->add_option("--target", s.targets, "target, repeatable (e.g. mock)")->required();
    build->add_option("--image", s.image, "existing image UUID to add a build to");
    build->add_option("--build", s.build, "existing build UUID");

    auto* push = app.add_subcommand("push", "push a built image to one or more providers");
    push->add_option("--image", s.image, "image UUID")->required();
    push->add_option("--build", s.build, "build UUID (default: the image's latest)");
    push->add_option("--provider", s.providers, "provider, repeatable")->required();
    push->add_option(
        "--credentials", s.credentials,
        "<provider_credentials> XML, or a file that holds it (condorcloud needs none)");

    auto* import = app.add_subcommand("import", "record an image that exists on a provider");
    import->add_option("--target-identifier", s.target_identifier, "the provider's image id")
        ->required();
    import->add_option("--image-desc", s.image_desc, "<image> XML describing the image")
        ->required();
    import->add_option("--target", s.target, "target, e.g. ec2")->required();
    import->add_option("--provider", s.provider, "provider")->required();
    import->add_option("--image", s.image, "existing image UUID");
    import->add_option("--build", s.build, "existing build UUID");

    app.add_subcommand("status", "show a BuildAdaptor's properties")
        ->add_option("address", s.address, "ADDRESS")
        ->required();

    auto* watch = app.add_subcommand("watch", "print events as they arrive");
    watch->add_option("--until-done", s.until_done,
                      "ADDRESS...: stop when these jobs have ended (exit 1 if one failed)");
    watch->add_option("--queue", s.queue,
                      "read events from this existing queue, bound to qmf.default.topic "
                      "beforehand, instead of a new binding");

    app.add_subcommand("abort", "abort a running build or push")
        ->add_option("address", s.address, "ADDRESS")
        ->required();

    auto* call = app.add_subcommand("call", "call any method (for diagnosis)");
    call->add_option("method", s.method, "method name")->required();
    call->add_option("--object", s.object, "ADDRESS (default: the ImageFactory object)");
    call->add_option("--arg", s.arguments,
                     "NAME=VALUE, repeatable; VALUE is JSON when it parses, else text");

    app.require_subcommand(1);
}

}  // namespace

int runConsole(int argc, char** argv) {
    ConsoleSettings settings;
    CLI::App app(kDescription, "imagefactory-console");
    defineOptions(app, settings);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    settings.timeout_given = app.count("--timeout") > 0;
    configureLogging(settings.verbose ? spdlog::level::info : spdlog::level::warn);

    auto broker = amqp::parseBrokerAddress(settings.broker);
    if (!broker) {
        return fail(broker.error());
    }
    auto broker_type = amqp::parseBrokerType(settings.broker_type);
    if (!broker_type) {
        return fail(broker_type.error());
    }
    std::string command = app.get_subcommands().front()->get_name();

    amqp::ConsoleConnection::Options options;
    options.broker = *broker;
    options.broker_type = *broker_type;
    options.receive_indications = command == "agents" || command == "watch" ||
                                  command == "status" || command == "abort" || command == "build" ||
                                  command == "push" || command == "import" || command == "states" ||
                                  command == "call";
    options.indication_queue = settings.queue;
    // Each request waits the --timeout; a watch without --timeout still needs a bound for
    // connecting and for its status queries.
    double request_seconds =
        command == "watch" && !settings.timeout_given ? 30.0 : settings.timeout_seconds;
    ConsoleSession session(options, millisecondsOf(request_seconds));
    session.setAgentFilter(settings.agent);
    Status opened = session.open();
    if (!opened.ok()) {
        return fail(opened.error());
    }

    ConsoleCommands commands(settings, session);
    if (command == "agents") {
        return commands.agents();
    }
    if (command == "states") {
        return commands.states();
    }
    if (command == "build") {
        return commands.build();
    }
    if (command == "push") {
        return commands.push();
    }
    if (command == "import") {
        return commands.importImage();
    }
    if (command == "status") {
        return commands.status();
    }
    if (command == "watch") {
        return commands.watch();
    }
    if (command == "abort") {
        return commands.abort();
    }
    return commands.call();
}

}  // namespace imagefactory

#include <cctype>
#include <thread>

#include "core/template.hpp"
#include "core/text.hpp"
#include "qmf/agent_state.hpp"

// Method calls: address lookup, argument checks against the schema, and the calls into the
// Factory. Every call ends in exactly one _method_response or _exception.
namespace imagefactory::qmf {

namespace {

constexpr std::string_view kRedacted = "*** REDACTED ***";
// Calls that run off the AMQP thread at once (see mayWaitOnNetwork); more get an Unavailable
// exception.
constexpr size_t kMaxDeferredCalls = 8;

CallError fromFactoryError(const Error& error) {
    return CallError{qmfErrorCodeFor(error.code), error.message};
}

// Checks the supplied arguments against the method's schema: each must be an input argument
// of a compatible type, and every input argument must be present. Binary counts as string.
std::optional<CallError> checkArguments(const schema::Method& method, const Map& arguments) {
    for (const auto& [name, value] : arguments) {
        const schema::Property* declared = method.argument(name);
        if (declared == nullptr || !declared->isInput()) {
            return CallError{
                QmfErrorCode::InvalidParameter,
                "Invalid argument: " + method.name + " has no input argument '" + name + "'"};
        }
        bool compatible = false;
        switch (declared->type) {
            case schema::DataType::String:
                compatible = value.text().has_value();
                break;
            case schema::DataType::List:
                compatible = value.list() != nullptr;
                break;
            case schema::DataType::Map:
                compatible = value.map() != nullptr;
                break;
            case schema::DataType::Int:
                compatible = value.integer().has_value() || value.get<uint64_t>() != nullptr;
                break;
            default:
                compatible = true;
                break;
        }
        if (!compatible) {
            return CallError{QmfErrorCode::InvalidParameter,
                             "Invalid argument: " + method.name + " argument '" + name +
                                 "' must be " + std::string(schema::dataTypeName(declared->type)) +
                                 ", got " + valueTypeName(value)};
        }
    }
    for (const schema::Property& declared : method.arguments) {
        if (declared.isInput() && !arguments.contains(declared.name)) {
            return CallError{QmfErrorCode::InvalidParameter, "Invalid argument: " + method.name +
                                                                 " is missing argument '" +
                                                                 declared.name + "'"};
        }
    }
    return std::nullopt;
}

std::string textArgument(const Map& arguments, std::string_view name) {
    return textField(arguments, std::string(name)).value_or("");
}

// A list argument whose items must all be text.
std::variant<std::vector<std::string>, CallError> textListArgument(const std::string& method,
                                                                   const Map& arguments,
                                                                   std::string_view name) {
    std::vector<std::string> items;
    const List& list = *arguments.at(std::string(name)).list();
    for (size_t i = 0; i < list.size(); ++i) {
        auto text = list[i].text();
        if (!text) {
            return CallError{QmfErrorCode::InvalidParameter,
                             "Invalid argument: " + method + " argument '" + std::string(name) +
                                 "' item " + std::to_string(i) + " must be a string, got " +
                                 valueTypeName(list[i])};
        }
        items.push_back(std::move(*text));
    }
    return items;
}

std::string joined(const std::vector<std::string>& items) {
    std::string text;
    for (const std::string& item : items) {
        text += (text.empty() ? "" : ",") + item;
    }
    return text;
}

// A provider argument for a log line. A name is shown as it is, but an inline XML or JSON
// definition may hold a password (rhevm's), so only its length is logged.
std::string providerForLog(const std::string& argument) {
    bool plain = !argument.empty() && argument.size() <= 128;
    for (char c : argument) {
        plain = plain &&
                (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
    }
    return plain ? argument
                 : "(inline definition of " + std::to_string(argument.size()) + " bytes)";
}

std::string providersForLog(const std::vector<std::string>& arguments) {
    std::vector<std::string> logged;
    for (const std::string& argument : arguments) {
        logged.push_back(providerForLog(argument));
    }
    return joined(logged);
}

// Replaces every occurrence of secret in text, so that an error can never echo credentials.
std::string redacted(std::string text, const std::string& secret) {
    if (secret.empty()) {
        return text;
    }
    for (size_t at = text.find(secret); at != std::string::npos;
         at = text.find(secret, at + kRedacted.size())) {
        text.replace(at, secret.size(), kRedacted);
    }
    return text;
}

// Whether the call may wait on another host: a template download (up to the fetch timeout),
// or a push or import whose checks reach the provider (a libvirt connection, a folder that may
// be on NFS). Such calls run off the AMQP thread.
bool mayWaitOnNetwork(const Factory& factory, const schema::Method& method, const Map& arguments) {
    if (method.name == schema::kBuildImage) {
        auto form = classifyTemplateArgument(textArgument(arguments, schema::kTemplate));
        return form.ok() && *form == TemplateForm::Url;
    }
    std::vector<std::string> providers;
    if (method.name == schema::kPushImage) {
        auto field = arguments.find(std::string(schema::kProviders));
        const List* list = field != arguments.end() ? field->second.list() : nullptr;
        if (list != nullptr) {
            for (const Value& provider : *list) {
                providers.push_back(provider.text().value_or(""));
            }
        }
    } else if (method.name == schema::kImportImage) {
        providers.push_back(textArgument(arguments, schema::kProvider));
    }
    return factory.checksReachProviders(providers);
}

}  // namespace

void Agent::State::handleMethod(const Message& request, std::vector<Message>& out,
                                bool encoded_form) {
    const Map& body = *request.body.map();
    auto method_name = textField(body, "_method_name");
    if (!method_name) {
        out.push_back(exception(request, QmfErrorCode::InvalidParameter,
                                "Malformed MethodRequest: missing _method_name field"));
        return;
    }

    std::optional<ObjectAddress> address;
    if (auto field = body.find("_object_id"); field != body.end() && field->second.map()) {
        if (auto parsed = ObjectAddress::fromMap(*field->second.map())) {
            address = *parsed;
        }
    }
    std::optional<ObjectRecord> object;
    if (address) {
        object = findObject(*address);
    }
    if (!object) {
        std::string shown = address ? "'" + address->object_name + "'" : "(no valid _object_id)";
        out.push_back(exception(
            request, QmfErrorCode::UnknownObject,
            "No data object found with the specified address " + shown + " on agent " + name +
                " (epoch " + std::to_string(options.epoch) + "); cannot call " + *method_name));
        return;
    }

    const schema::Method* method = object->schema_class->method(*method_name);
    if (method == nullptr) {
        out.push_back(exception(request, QmfErrorCode::UnknownMethod,
                                "Unknown method '" + *method_name + "' on object '" + object->name +
                                    "' of class " + object->schema_class->name));
        return;
    }

    Map arguments;
    if (auto field = body.find("_arguments"); field != body.end() && !field->second.isNull()) {
        if (field->second.map() == nullptr) {
            out.push_back(exception(request, QmfErrorCode::InvalidParameter,
                                    "Invalid argument: " + *method_name +
                                        " _arguments must be a map, got " +
                                        valueTypeName(field->second)));
            return;
        }
        arguments = *field->second.map();
    }
    if (auto error = checkArguments(*method, arguments)) {
        out.push_back(exception(request, error->code, error->text));
        return;
    }

    if (mayWaitOnNetwork(factory, *method, arguments)) {
        if (!deferCall(request, *object, *method, arguments, encoded_form)) {
            out.push_back(exception(request, qmfErrorCodeFor(ErrorCode::Unavailable),
                                    "too many slow calls in progress (" +
                                        std::to_string(kMaxDeferredCalls) + "); call " +
                                        method->name + " again later"));
        }
        return;
    }
    out.push_back(methodReply(request, *method_name, *object, arguments,
                              callMethod(*object, *method, arguments)));
}

Message Agent::State::methodReply(const Message& request, const std::string& method_name,
                                  const ObjectRecord& object, const Map& arguments,
                                  CallResult result) const {
    if (auto* error = std::get_if<CallError>(&result)) {
        // Whatever the Factory put in its message, the credentials never leave the agent.
        std::string text = redacted(error->text, textArgument(arguments, schema::kCredentials));
        log->info("method failed method={} object={} code={} error={}", method_name, object.name,
                  static_cast<uint32_t>(error->code), text);
        return exception(request, error->code, text);
    }
    Message reply = newReply(request, kMethodResponse);
    reply.content_type = std::string(kContentTypeMap);
    reply.body = Map{{"_arguments", std::get<Map>(std::move(result))}};
    return reply;
}

bool Agent::State::deferCall(const Message& request, const ObjectRecord& object,
                             const schema::Method& method, const Map& arguments,
                             bool encoded_form) {
    std::lock_guard lock(mutex);
    if (deferred_running >= kMaxDeferredCalls) {
        return false;
    }
    ++deferred_running;
    // Detached: joinDeferredCalls() waits for the count instead, and the thread touches no
    // member after it has counted itself out.
    std::thread([this, request, object, &method, arguments, encoded_form] {
        Message reply = methodReply(request, method.name, object, arguments,
                                    callMethod(object, method, arguments));
        if (encoded_form) {
            reply = withBodyEncoded(std::move(reply));
        }
        std::function<void()> wake;
        {
            std::lock_guard lock(mutex);
            deferred_replies.push_back(std::move(reply));
            wake = wakeup;
            --deferred_running;
            deferred_done.notify_all();
        }
        if (wake) {
            wake();
        }
    }).detach();
    return true;
}

void Agent::State::joinDeferredCalls() {
    std::unique_lock lock(mutex);
    deferred_done.wait(lock, [this] { return deferred_running == 0; });
}

CallResult Agent::State::callMethod(const ObjectRecord& object, const schema::Method& method,
                                    const Map& arguments) {
    auto addresses = [this](const std::vector<JobSnapshot>& jobs) {
        List list;
        std::lock_guard lock(mutex);
        for (const JobSnapshot& job : jobs) {
            // The Factory has notified observers already. This covers an agent added as observer
            // late.
            list.push_back(addressOf(ensureAdaptorLocked(job).name).toMap());
        }
        return list;
    };
    const std::string image = textArgument(arguments, schema::kImage);
    const std::string build = textArgument(arguments, schema::kBuild);

    if (method.name == schema::kBuildImage) {
        auto targets = textListArgument(method.name, arguments, schema::kTargets);
        if (auto* error = std::get_if<CallError>(&targets)) {
            return *error;
        }
        const auto& target_names = std::get<std::vector<std::string>>(targets);
        log->info("build_image image={} build={} targets={}", image, build, joined(target_names));
        auto jobs = factory.buildImage(image, build, textArgument(arguments, schema::kTemplate),
                                       target_names);
        if (!jobs) {
            return fromFactoryError(jobs.error());
        }
        return Map{{std::string(schema::kBuildAdaptors), addresses(*jobs)}};
    }

    if (method.name == schema::kPushImage) {
        auto providers = textListArgument(method.name, arguments, schema::kProviders);
        if (auto* error = std::get_if<CallError>(&providers)) {
            return *error;
        }
        const auto& provider_names = std::get<std::vector<std::string>>(providers);
        log->info("push_image image={} build={} providers={} credentials={}", quoteValue(image),
                  quoteValue(build), providersForLog(provider_names), kRedacted);
        auto jobs = factory.pushImage(image, build, provider_names,
                                      textArgument(arguments, schema::kCredentials));
        if (!jobs) {
            return fromFactoryError(jobs.error());
        }
        return Map{{std::string(schema::kBuildAdaptors), addresses(*jobs)}};
    }

    if (method.name == schema::kImportImage) {
        const std::string target_identifier = textArgument(arguments, schema::kTargetIdentifier);
        const std::string target = textArgument(arguments, schema::kTarget);
        const std::string provider = textArgument(arguments, schema::kProvider);
        log->info("import_image image={} build={} target_identifier={} target={} provider={}",
                  quoteValue(image), quoteValue(build), quoteValue(target_identifier),
                  quoteValue(target), providerForLog(provider));
        auto imported =
            factory.importImage(image, build, target_identifier,
                                textArgument(arguments, schema::kImageDesc), target, provider);
        if (!imported) {
            return fromFactoryError(imported.error());
        }
        return Map{{std::string(schema::kImage), imported->image_id},
                   {std::string(schema::kBuild), imported->build_id},
                   {std::string(schema::kTargetImage), imported->target_image_id},
                   {std::string(schema::kProviderImage), imported->provider_image_id}};
    }

    if (method.name == schema::kInstanceStates) {
        auto states = factory.instanceStates(textArgument(arguments, schema::kClassName));
        if (!states) {
            return fromFactoryError(states.error());
        }
        return Map{{std::string(schema::kStates), *states}};
    }

    if (method.name == schema::kAbort) {
        if (object.ended) {
            return CallError{
                QmfErrorCode::Exception,
                "Cannot abort " + object.name + ": the job has already ended with " + "status " +
                    textField(object.values, std::string(schema::kStatus)).value_or("?")};
        }
        log->info("abort object={} job={}", object.name, object.job_id);
        auto aborted = factory.abort(object.job_id);
        if (!aborted) {
            return fromFactoryError(aborted.error());
        }
        return Map{};
    }

    return CallError{QmfErrorCode::UnknownMethod,
                     "Unknown method '" + method.name + "' on object '" + object.name + "'"};
}

}  // namespace imagefactory::qmf

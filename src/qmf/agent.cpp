#include "qmf/agent.hpp"

#include "core/logging.hpp"
#include "core/uuid.hpp"
#include "qmf/agent_state.hpp"
#include "qmf/codec010.hpp"
#include "qmf/predicate.hpp"

namespace imagefactory::qmf {

namespace {

// Objects per _query_response message; qpidd sends batches of the same size.
constexpr size_t kQueryBatch = 100;

std::string agentName(const AgentOptions& options) {
    std::string instance = options.instance.empty() ? newUuid() : options.instance;
    return std::string(schema::kVendor) + ":" + std::string(schema::kProduct) + ":" + instance;
}

}  // namespace

Message withBodyEncoded(Message message) {
    Result<std::string> bytes = std::string();
    if (const Map* map = message.body.map()) {
        bytes = codec010::encodeMap(*map);
    } else if (const List* list = message.body.list()) {
        bytes = codec010::encodeList(*list);
    } else {
        return message;
    }
    if (bytes) {
        message.data = std::move(*bytes);
        message.body = Value();
    }
    return message;
}

// ---- State ----

Agent::State::State(Factory& factory_ref, AgentOptions agent_options)
    : factory(factory_ref),
      options(std::move(agent_options)),
      name(agentName(options)),
      schema_updated_ns(nowNanoseconds()),
      log(componentLogger("qmf")) {}

Map Agent::State::attributes() const {
    return Map{
        {"_vendor", std::string(schema::kVendor)},
        {"_product", std::string(schema::kProduct)},
        {"_instance", name.substr(name.rfind(':') + 1)},
        {"_name", name},
        {"_timestamp", nowNanoseconds()},
        {"_heartbeat_interval", options.heartbeat_interval_seconds},
        {"_epoch", options.epoch},
        {"_schema_updated", schema_updated_ns},
        {"qmf.agent_capability", uint32_t{1}},
    };
}

Message Agent::State::newMessage(std::string_view opcode, std::string_view method) const {
    Message message;
    message.properties[std::string(kAppIdKey)] = std::string(kAppId);
    message.properties[std::string(kOpcodeKey)] = std::string(opcode);
    message.properties[std::string(kMethodKey)] = std::string(method);
    message.properties[std::string(kAgentKey)] = name;
    return message;
}

Message Agent::State::newReply(const Message& request, std::string_view opcode) const {
    Message reply = newMessage(opcode, opcode == kAgentLocateResponse ? "indication" : "response");
    reply.reply_to = request.reply_to;
    reply.correlation_id = request.correlation_id;
    return reply;
}

Message Agent::State::exception(const Message& request, QmfErrorCode code,
                                const std::string& text) const {
    Message reply = newReply(request, kException);
    reply.properties[std::string(kContentKey)] = std::string(kContentData);
    reply.content_type = std::string(kContentTypeMap);
    reply.body =
        Map{{"_values", Map{{"error_code", static_cast<uint32_t>(code)}, {"error_text", text}}}};
    log->debug("exception cid={} code={} text={}", correlationText(request),
               static_cast<uint32_t>(code), text);
    return reply;
}

std::optional<ObjectRecord> Agent::State::findObject(const ObjectAddress& address) const {
    if (!address.agent_name.empty() && address.agent_name != name) {
        return std::nullopt;
    }
    if (address.agent_epoch != 0 && address.agent_epoch != options.epoch) {
        return std::nullopt;
    }
    std::lock_guard lock(mutex);
    auto it = objects.find(address.object_name);
    if (it == objects.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::string adaptorObjectName(const JobSnapshot& job) {
    return "build_adaptor:" + job.method + ":" + job.id;
}

ObjectRecord& Agent::State::ensureAdaptorLocked(const JobSnapshot& job) {
    std::string object_name = adaptorObjectName(job);
    auto it = objects.find(object_name);
    if (it != objects.end()) {
        return it->second;
    }
    ObjectRecord record;
    record.name = object_name;
    record.schema_class = schema::findClass(schema::kPackage, schema::kBuildAdaptor);
    record.job_id = job.id;
    record.values = Map{
        {std::string(schema::kImage), job.image_id},
        {std::string(schema::kBuild), job.build_id},
        {std::string(schema::kStatus), std::string(jobStatusName(job.status))},
        {std::string(schema::kPercentComplete), int64_t{job.percent_complete}},
        {std::string(schema::kImageId), job.id},
    };
    record.ended = isTerminal(job.status);
    record.create_ts = nowNanoseconds();
    record.update_ts = record.create_ts;
    object_order.push_back(object_name);
    return objects.emplace(object_name, std::move(record)).first->second;
}

Map dataMap(const ObjectRecord& object, const ObjectAddress& address) {
    return Map{{"_values", object.values},
               {"_object_id", address.toMap()},
               {"_schema_id", object.schema_class->id().toMap()},
               {"_create_ts", object.create_ts},
               {"_update_ts", object.update_ts},
               {"_delete_ts", uint64_t{0}}};
}

std::string valueTypeName(const Value& value) {
    switch (value.type()) {
        case Value::Type::Null:
            return "null";
        case Value::Type::Bool:
            return "bool";
        case Value::Type::Int32:
        case Value::Type::Int64:
        case Value::Type::UInt32:
        case Value::Type::UInt64:
            return "integer";
        case Value::Type::Double:
            return "float";
        case Value::Type::String:
            return "string";
        case Value::Type::Binary:
            return "binary";
        case Value::Type::Uuid:
            return "uuid";
        case Value::Type::List:
            return "list";
        case Value::Type::Map:
            return "map";
    }
    return "unknown";
}

// ---- locate ----

void Agent::State::handleLocate(const Message& request, std::vector<Message>& out) const {
    Map values = attributes();
    if (!request.body.isNull()) {
        auto matched = evaluatePredicate(request.body, values);
        if (!matched) {
            log->debug("ignoring locate request with invalid predicate cid={}: {}",
                       correlationText(request), matched.error().message);
            return;
        }
        if (!*matched) {
            return;
        }
    }
    Message reply = newReply(request, kAgentLocateResponse);
    reply.content_type = std::string(kContentTypeMap);
    reply.body = Map{{"_values", std::move(values)}};
    out.push_back(std::move(reply));
}

// ---- queries ----

void Agent::State::handleQuery(const Message& request, std::vector<Message>& out) const {
    const Map& body = *request.body.map();
    auto what = textField(body, "_what");
    if (!what) {
        out.push_back(exception(request, QmfErrorCode::InvalidParameter,
                                "Invalid query: missing _what (expected OBJECT, OBJECT_ID, "
                                "SCHEMA or SCHEMA_ID)"));
        return;
    }

    auto respond = [&](std::string_view content, List items) {
        // Every message but the last carries partial; an empty result still gets one message.
        size_t batches = items.empty() ? 1 : (items.size() + kQueryBatch - 1) / kQueryBatch;
        for (size_t batch = 0; batch < batches; ++batch) {
            Message reply = newReply(request, kQueryResponse);
            reply.properties[std::string(kContentKey)] = std::string(content);
            if (batch + 1 < batches) {
                reply.properties[std::string(kPartialKey)] = Value();
            }
            reply.content_type = std::string(kContentTypeList);
            size_t first = batch * kQueryBatch;
            size_t last = std::min(items.size(), first + kQueryBatch);
            reply.body = List(items.begin() + static_cast<std::ptrdiff_t>(first),
                              items.begin() + static_cast<std::ptrdiff_t>(last));
            out.push_back(std::move(reply));
        }
    };

    std::optional<SchemaId> schema_id;
    auto schema_field = body.find("_schema_id");
    if (schema_field != body.end() && schema_field->second.map() != nullptr) {
        auto parsed = SchemaId::fromMap(*schema_field->second.map());
        if (!parsed) {
            out.push_back(exception(request, QmfErrorCode::InvalidParameter,
                                    "Invalid query: " + parsed.error().message));
            return;
        }
        schema_id = *parsed;
    }

    if (*what == "SCHEMA_ID") {
        List ids;
        for (const schema::Class& c : schema::classes()) {
            ids.push_back(c.id().toMap());
        }
        respond(kContentSchemaId, std::move(ids));
        return;
    }

    if (*what == "SCHEMA") {
        if (!schema_id) {
            out.push_back(exception(request, QmfErrorCode::InvalidParameter,
                                    "Invalid Schema Query: Requests for SCHEMA must supply a "
                                    "valid schema ID."));
            return;
        }
        List schemas;
        const schema::Class* found =
            schema::findClass(schema_id->package_name, schema_id->class_name);
        if (found != nullptr && (!schema_id->hash || *schema_id->hash == found->hash)) {
            schemas.push_back(found->toMap());
        }
        respond(kContentSchema, std::move(schemas));
        return;
    }

    if (*what != "OBJECT" && *what != "OBJECT_ID") {
        out.push_back(exception(request, QmfErrorCode::InvalidParameter,
                                "Invalid query: unknown _what '" + *what +
                                    "' (expected OBJECT, OBJECT_ID, SCHEMA or SCHEMA_ID)"));
        return;
    }

    auto object_field = body.find("_object_id");
    if (object_field != body.end() && object_field->second.map() != nullptr) {
        List results;
        auto address = ObjectAddress::fromMap(*object_field->second.map());
        if (address) {
            if (auto object = findObject(*address)) {
                results.push_back(dataMap(*object, addressOf(object->name)));
            }
        }
        respond(kContentData, std::move(results));
        return;
    }

    if (!schema_id) {
        // Nothing selects objects: one empty final response, as qpidd does.
        respond(kContentData, {});
        return;
    }

    std::optional<Value> where;
    if (auto field = body.find("_where"); field != body.end() && !field->second.isNull()) {
        where = field->second;
    }
    std::vector<ObjectRecord> candidates;
    {
        std::lock_guard lock(mutex);
        for (const std::string& object_name : object_order) {
            const ObjectRecord& object = objects.at(object_name);
            if (object.schema_class->name != schema_id->class_name) {
                continue;
            }
            if (!schema_id->package_name.empty() &&
                object.schema_class->package != schema_id->package_name) {
                continue;
            }
            candidates.push_back(object);
        }
    }
    List results;
    for (const ObjectRecord& object : candidates) {
        if (where) {
            auto matched = evaluatePredicate(*where, object.values);
            if (!matched) {
                out.push_back(exception(request, QmfErrorCode::InvalidParameter,
                                        "Invalid query _where: " + matched.error().message));
                return;
            }
            if (!*matched) {
                continue;
            }
        }
        results.push_back(dataMap(object, addressOf(object.name)));
    }
    respond(kContentData, std::move(results));
}

// ---- Agent ----

Agent::Agent(Factory& factory, AgentOptions options)
    : state_(std::make_unique<State>(factory, std::move(options))) {
    ObjectRecord factory_object;
    factory_object.name = std::string(schema::kImageFactoryObject);
    factory_object.schema_class = schema::findClass(schema::kPackage, schema::kImageFactory);
    factory_object.create_ts = state_->schema_updated_ns;
    factory_object.update_ts = factory_object.create_ts;
    state_->objects.emplace(factory_object.name, factory_object);
    state_->object_order.push_back(factory_object.name);
    state_->log->info("agent name={} epoch={}", state_->name, state_->options.epoch);
}

Agent::~Agent() {
    state_->joinDeferredCalls();
}

const std::string& Agent::name() const {
    return state_->name;
}

uint32_t Agent::epoch() const {
    return state_->options.epoch;
}

void Agent::handle(const Message& in, std::vector<Message>& out) {
    State& state = *state_;

    if (in.data && in.data->starts_with("AM2")) {
        state.handleQmf1(in, out);
        return;
    }

    // qpid::messaging consoles on AMQP 1.0 send 0-10-encoded data sections and can only read
    // replies in the same form.
    const Message* request = &in;
    Message decoded;
    bool encoded_form = false;
    if (in.data && (in.content_type == kContentTypeMap || in.content_type == kContentTypeList)) {
        decoded = in;
        decoded.data.reset();
        if (in.content_type == kContentTypeMap) {
            auto map = codec010::decodeMap(*in.data);
            if (!map) {
                state.log->warn("dropping undecodable amqp/map request cid={}: {}",
                                correlationText(in), map.error().message);
                return;
            }
            decoded.body = std::move(*map);
        } else {
            auto list = codec010::decodeList(*in.data);
            if (!list) {
                state.log->warn("dropping undecodable amqp/list request cid={}: {}",
                                correlationText(in), list.error().message);
                return;
            }
            decoded.body = std::move(*list);
        }
        request = &decoded;
        encoded_form = true;
    }

    std::string opcode = opcodeOf(*request);
    state.log->trace("request opcode={} cid={} reply_to={}", opcode, correlationText(*request),
                     request->reply_to);
    if (request->reply_to.empty()) {
        state.log->debug("ignoring {} without reply-to", opcode.empty() ? "message" : opcode);
        return;
    }

    size_t first_reply = out.size();
    if (opcode == kAgentLocateRequest) {
        if (request->body.isNull() || request->body.list() != nullptr) {
            state.handleLocate(*request, out);
        } else {
            state.log->debug("ignoring locate request whose body is not a list");
        }
    } else if (opcode == kQueryRequest || opcode == kMethodRequest) {
        if (request->body.map() == nullptr) {
            state.log->warn("ignoring {} whose body is not a map cid={}", opcode,
                            correlationText(*request));
            return;
        }
        if (opcode == kQueryRequest) {
            state.handleQuery(*request, out);
        } else {
            state.handleMethod(*request, out, encoded_form);
        }
    } else if (opcode == kSubscribeRequest) {
        out.push_back(state.exception(*request, QmfErrorCode::FeatureNotImplemented,
                                      "Subscriptions are not supported"));
    } else {
        state.log->debug("ignoring unknown opcode '{}' cid={}", opcode, correlationText(*request));
        return;
    }

    if (encoded_form) {
        for (size_t i = first_reply; i < out.size(); ++i) {
            out[i] = withBodyEncoded(std::move(out[i]));
        }
    }
}

Message Agent::heartbeat() const {
    Message message = state_->newMessage(kAgentHeartbeat, "indication");
    message.node = std::string(kTopicExchange);
    message.subject =
        "agent.ind.heartbeat." + keyify(schema::kVendor) + "." + keyify(schema::kProduct);
    message.content_type = std::string(kContentTypeMap);
    message.ttl_ms = uint64_t{state_->options.heartbeat_interval_seconds} * 2000;
    message.body = Map{{"_values", state_->attributes()}};
    return message;
}

void Agent::setEventWakeup(std::function<void()> wakeup) {
    std::lock_guard lock(state_->mutex);
    state_->wakeup = std::move(wakeup);
}

std::vector<Message> Agent::takeEvents(size_t max) {
    std::vector<Message> taken;
    size_t dropped = 0;
    {
        std::lock_guard lock(state_->mutex);
        // Replies of deferred calls first: a console is waiting on each of them.
        while (!state_->deferred_replies.empty() && taken.size() < max) {
            taken.push_back(std::move(state_->deferred_replies.front()));
            state_->deferred_replies.pop_front();
        }
        while (!state_->events.empty() && taken.size() < max) {
            taken.push_back(std::move(state_->events.front()));
            state_->events.pop_front();
        }
        if (state_->events.empty()) {
            dropped = state_->dropped_events;
            state_->dropped_events = 0;
        }
    }
    if (dropped > 0) {
        state_->log->warn("event buffer overflowed: dropped {} oldest events (limit {})", dropped,
                          state_->options.event_buffer_limit);
    }
    return taken;
}

size_t Agent::pendingEvents() const {
    std::lock_guard lock(state_->mutex);
    return state_->events.size();
}

}  // namespace imagefactory::qmf

#include "qmf/console_protocol.hpp"

#include <limits>

namespace imagefactory::qmf::console {

namespace {

Message newRequest(std::string_view opcode, std::string_view node, std::string subject,
                   const std::string& reply_to, const std::string& correlation_id) {
    Message message;
    message.node = std::string(node);
    message.subject = std::move(subject);
    message.reply_to = reply_to;
    if (!correlation_id.empty()) {
        message.correlation_id = Value(correlation_id);
    }
    message.properties[std::string(kAppIdKey)] = std::string(kAppId);
    message.properties[std::string(kOpcodeKey)] = std::string(opcode);
    message.properties[std::string(kMethodKey)] = "request";
    return message;
}

Message newQuery(const RequestTarget& target, Map body) {
    Message message = newRequest(kQueryRequest, kDirectExchange, target.agent_name, target.reply_to,
                                 target.correlation_id);
    message.content_type = std::string(kContentTypeMap);
    message.body = std::move(body);
    return message;
}

List quoted(const std::string& text) {
    return List{Value("quote"), Value(text)};
}

Result<const Map*> bodyMap(const Message& message) {
    const Map* body = message.body.map();
    if (body == nullptr) {
        return userError("the " + opcodeOf(message) + " body is not a map");
    }
    return body;
}

// Any integer width that fits in uint32, or nullopt.
std::optional<uint32_t> uint32Field(const Map& map, const std::string& key) {
    auto it = map.find(key);
    if (it == map.end()) {
        return std::nullopt;
    }
    auto number = it->second.integer();
    if (!number || *number < 0 || *number > std::numeric_limits<uint32_t>::max()) {
        return std::nullopt;
    }
    return static_cast<uint32_t>(*number);
}

// A non-negative integer of any width as uint64 (ulong values above INT64_MAX included).
std::optional<uint64_t> uint64Field(const Map& map, const std::string& key) {
    auto it = map.find(key);
    if (it == map.end()) {
        return std::nullopt;
    }
    if (const auto* big = it->second.get<uint64_t>()) {
        return *big;
    }
    auto number = it->second.integer();
    if (!number || *number < 0) {
        return std::nullopt;
    }
    return static_cast<uint64_t>(*number);
}

}  // namespace

List vendorProductPredicate(const std::string& vendor, const std::string& product) {
    List clauses;
    if (!vendor.empty()) {
        clauses.push_back(List{Value("eq"), Value("_vendor"), quoted(vendor)});
    }
    if (!product.empty()) {
        clauses.push_back(List{Value("eq"), Value("_product"), quoted(product)});
    }
    if (clauses.empty()) {
        return {};
    }
    if (clauses.size() == 1) {
        return *clauses.front().list();
    }
    List predicate{Value("and")};
    predicate.insert(predicate.end(), clauses.begin(), clauses.end());
    return predicate;
}

Message agentLocateRequest(const std::string& vendor, const std::string& product,
                           const std::string& reply_to, const std::string& correlation_id) {
    Message message = newRequest(kAgentLocateRequest, kTopicExchange, std::string(kLocateSubject),
                                 reply_to, correlation_id);
    message.content_type = std::string(kContentTypeList);
    message.body = vendorProductPredicate(vendor, product);
    return message;
}

Message queryByClass(const RequestTarget& target, const std::string& package_name,
                     const std::string& class_name, const std::optional<List>& where) {
    SchemaId id{package_name, class_name, std::string(kContentData), std::nullopt};
    Map body{{"_what", "OBJECT"}, {"_schema_id", id.toMap()}};
    if (where) {
        body["_where"] = *where;
    }
    return newQuery(target, std::move(body));
}

Message queryByAddress(const RequestTarget& target, const ObjectAddress& address) {
    return newQuery(target, Map{{"_what", "OBJECT"}, {"_object_id", address.toMap()}});
}

Message schemaQuery(const RequestTarget& target, const SchemaId& id) {
    return newQuery(target, Map{{"_what", "SCHEMA"}, {"_schema_id", id.toMap()}});
}

Message schemaIdQuery(const RequestTarget& target) {
    return newQuery(target, Map{{"_what", "SCHEMA_ID"}});
}

Message methodRequest(const RequestTarget& target, const ObjectAddress& object,
                      const std::string& method_name, const Map& arguments) {
    Message message = newRequest(kMethodRequest, kDirectExchange, target.agent_name,
                                 target.reply_to, target.correlation_id);
    message.content_type = std::string(kContentTypeMap);
    message.body = Map{
        {"_method_name", method_name}, {"_object_id", object.toMap()}, {"_arguments", arguments}};
    return message;
}

Result<AgentInfo> parseAgentInfo(const Message& message) {
    auto opcode = opcodeOf(message);
    if (opcode != kAgentHeartbeat && opcode != kAgentLocateResponse) {
        return userError("expected an agent heartbeat or locate response, got opcode '" + opcode +
                         "'");
    }
    auto body = bodyMap(message);
    if (!body) {
        return body.error();
    }
    auto values = (*body)->find("_values");
    if (values == (*body)->end() || values->second.map() == nullptr) {
        return userError("the " + opcode + " body has no _values map");
    }
    const Map& attributes = *values->second.map();

    AgentInfo info;
    info.attributes = attributes;
    info.name = textField(attributes, "_name")
                    .value_or(textField(message.properties, std::string(kAgentKey)).value_or(""));
    if (info.name.empty()) {
        return userError("the " + opcode + " names no agent (_name and qmf.agent missing)");
    }
    info.vendor = textField(attributes, "_vendor").value_or("");
    info.product = textField(attributes, "_product").value_or("");
    info.instance = textField(attributes, "_instance").value_or("");
    info.epoch = uint32Field(attributes, "_epoch").value_or(0);
    info.heartbeat_interval_seconds = uint32Field(attributes, "_heartbeat_interval").value_or(0);
    info.timestamp_ns = uint64Field(attributes, "_timestamp").value_or(0);
    info.schema_updated_ns = uint64Field(attributes, "_schema_updated").value_or(0);
    info.capability = uint32Field(attributes, "qmf.agent_capability").value_or(0);
    return info;
}

Result<RemoteError> parseException(const Message& message) {
    auto body = bodyMap(message);
    if (!body) {
        return body.error();
    }
    RemoteError error;
    error.error_text = "error";
    auto values = (*body)->find("_values");
    if (values == (*body)->end() || values->second.map() == nullptr) {
        return error;
    }
    error.values = *values->second.map();
    error.error_text = textField(error.values, "error_text").value_or("error");
    if (auto code = uint32Field(error.values, "error_code")) {
        error.error_code = *code;
    }
    return error;
}

Result<DataObject> parseDataObject(const Map& data) {
    DataObject object;
    auto values = data.find("_values");
    if (values != data.end()) {
        if (values->second.map() == nullptr) {
            return userError("data _values is not a map");
        }
        object.values = *values->second.map();
    }
    auto address = data.find("_object_id");
    if (address != data.end()) {
        if (address->second.map() == nullptr) {
            return userError("data _object_id is not a map");
        }
        auto parsed = ObjectAddress::fromMap(*address->second.map());
        if (!parsed) {
            return parsed.error();
        }
        object.address = *parsed;
    }
    auto schema_id = data.find("_schema_id");
    if (schema_id != data.end()) {
        if (schema_id->second.map() == nullptr) {
            return userError("data _schema_id is not a map");
        }
        auto parsed = SchemaId::fromMap(*schema_id->second.map());
        if (!parsed) {
            return parsed.error();
        }
        object.schema_id = *parsed;
    }
    object.create_ts = uint64Field(data, "_create_ts").value_or(0);
    object.update_ts = uint64Field(data, "_update_ts").value_or(0);
    object.delete_ts = uint64Field(data, "_delete_ts").value_or(0);
    return object;
}

Result<QueryReply> parseQueryReply(const Message& message) {
    QueryReply reply;
    auto opcode = opcodeOf(message);
    if (opcode == kException) {
        auto error = parseException(message);
        if (!error) {
            return error.error();
        }
        reply.exception = *error;
        return reply;
    }
    if (opcode != kQueryResponse) {
        return userError("expected a query response, got opcode '" + opcode + "'");
    }
    const List* items = message.body.list();
    if (items == nullptr) {
        return userError("the _query_response body is not a list");
    }
    reply.items = *items;
    reply.content = textField(message.properties, std::string(kContentKey)).value_or("");
    reply.partial = message.properties.contains(std::string(kPartialKey));
    if (reply.content != kContentData) {
        return reply;
    }
    for (const Value& item : *items) {
        if (item.map() == nullptr) {
            return userError("a _query_response item is not a map");
        }
        auto object = parseDataObject(*item.map());
        if (!object) {
            return object.error();
        }
        reply.objects.push_back(std::move(*object));
    }
    return reply;
}

Result<MethodReply> parseMethodReply(const Message& message) {
    MethodReply reply;
    auto opcode = opcodeOf(message);
    if (opcode == kException) {
        auto error = parseException(message);
        if (!error) {
            return error.error();
        }
        reply.exception = *error;
        return reply;
    }
    if (opcode != kMethodResponse) {
        return userError("expected a method response, got opcode '" + opcode + "'");
    }
    auto body = bodyMap(message);
    if (!body) {
        return body.error();
    }
    auto arguments = (*body)->find("_arguments");
    if (arguments != (*body)->end()) {
        if (arguments->second.map() == nullptr) {
            return userError("the _method_response _arguments is not a map");
        }
        reply.arguments = *arguments->second.map();
    }
    return reply;
}

Result<std::vector<Event>> parseEvents(const Message& message) {
    auto opcode = opcodeOf(message);
    if (opcode != kDataIndication) {
        return userError("expected a data indication, got opcode '" + opcode + "'");
    }
    auto content = textField(message.properties, std::string(kContentKey)).value_or("");
    if (content != kContentEvent) {
        return userError("the data indication carries '" + content + "', not events");
    }
    const List* items = message.body.list();
    if (items == nullptr) {
        return userError("the _data_indication body is not a list");
    }

    std::vector<Event> events;
    for (const Value& item : *items) {
        if (item.map() == nullptr) {
            return userError("an event in the _data_indication is not a map");
        }
        auto data = parseDataObject(*item.map());
        if (!data) {
            return data.error();
        }
        Event event;
        event.agent_name = textField(message.properties, std::string(kAgentKey)).value_or("");
        event.schema_id = data->schema_id;
        event.values = std::move(data->values);
        auto severity = item.map()->find("_severity");
        if (severity != item.map()->end()) {
            auto number = severity->second.integer();
            if (!number || *number < 0 || *number > 7) {
                return userError("event _severity is not an integer from 0 to 7");
            }
            event.severity = static_cast<int>(*number);
        }
        event.timestamp_ns = uint64Field(*item.map(), "_timestamp").value_or(0);
        events.push_back(std::move(event));
    }
    return events;
}

}  // namespace imagefactory::qmf::console

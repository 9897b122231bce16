#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "qmf/message.hpp"
#include "qmf/protocol.hpp"
#include "qmf/value.hpp"

// The console side of QMF2: builders for the requests a console sends to an agent and parsers
// for the agent's replies and broadcasts. Requests are addressed with node and subject (the
// exchange and routing key); reply_to is the console's own reply address, written in the
// broker's style by the caller. Parsers accept strings as AMQP string or binary and integers
// of any width, and return an Error (code UserInput) naming what is malformed.
namespace imagefactory::qmf::console {

// Addressing shared by every request to one agent.
struct RequestTarget {
    std::string agent_name;      // the subject on the direct exchange
    std::string reply_to;        // the console's reply address
    std::string correlation_id;  // sent as an AMQP string; replies carry it back
};

// _agent_locate_request to the topic exchange. An empty vendor and product make an empty
// predicate that every agent matches; otherwise the predicate compares _vendor and/or
// _product with the given text.
Message agentLocateRequest(const std::string& vendor, const std::string& product,
                           const std::string& reply_to, const std::string& correlation_id);

// The predicate agentLocateRequest() sends.
List vendorProductPredicate(const std::string& vendor, const std::string& product);

// _query_request {_what: OBJECT, _schema_id: {package, class, _type _data}[, _where]}.
Message queryByClass(const RequestTarget& target, const std::string& package_name,
                     const std::string& class_name, const std::optional<List>& where);

// _query_request {_what: OBJECT, _object_id: address}.
Message queryByAddress(const RequestTarget& target, const ObjectAddress& address);

// _query_request {_what: SCHEMA, _schema_id: id}.
Message schemaQuery(const RequestTarget& target, const SchemaId& id);

// _query_request {_what: SCHEMA_ID}.
Message schemaIdQuery(const RequestTarget& target);

// _method_request {_method_name, _object_id, _arguments}.
Message methodRequest(const RequestTarget& target, const ObjectAddress& object,
                      const std::string& method_name, const Map& arguments);

// The attributes an agent publishes in heartbeats and locate responses.
struct AgentInfo {
    std::string name;  // _name, or the qmf.agent property when _name is missing
    std::string vendor;
    std::string product;
    std::string instance;
    uint32_t epoch = 0;
    uint32_t heartbeat_interval_seconds = 0;
    uint64_t timestamp_ns = 0;
    uint64_t schema_updated_ns = 0;
    uint32_t capability = 0;  // qmf.agent_capability
    Map attributes;           // every attribute as received
};

// Parses an _agent_heartbeat_indication or _agent_locate_response.
Result<AgentInfo> parseAgentInfo(const Message& message);

// The error an agent returned in an _exception.
struct RemoteError {
    uint32_t error_code = static_cast<uint32_t>(QmfErrorCode::Exception);
    std::string error_text;
    Map values;  // the whole _values map
};

// Parses an _exception body; error_code defaults to 7 and error_text to "error" when absent.
Result<RemoteError> parseException(const Message& message);

// One described object from a _query_response with qmf.content _data.
struct DataObject {
    ObjectAddress address;
    SchemaId schema_id;
    Map values;
    uint64_t create_ts = 0;
    uint64_t update_ts = 0;
    uint64_t delete_ts = 0;
};

// One message of a query reply. A query ends with the first message where partial is false,
// or with an exception.
struct QueryReply {
    std::string content;  // qmf.content: _data, _schema or _schema_id
    bool partial = false;
    std::vector<DataObject> objects;  // for _data
    List items;                       // the body as received (schemas, schema ids, data)
    std::optional<RemoteError> exception;
};

// Parses a _query_response or an _exception sent in reply to a query.
Result<QueryReply> parseQueryReply(const Message& message);

// Parses one DATA map (object or event form).
Result<DataObject> parseDataObject(const Map& data);

// A method call's outcome: output arguments, or the agent's error.
struct MethodReply {
    Map arguments;
    std::optional<RemoteError> exception;
    bool ok() const { return !exception.has_value(); }
};

// Parses a _method_response or an _exception.
Result<MethodReply> parseMethodReply(const Message& message);

// One event from a _data_indication with qmf.content _event.
struct Event {
    std::string agent_name;  // qmf.agent
    SchemaId schema_id;
    Map values;
    int severity = 5;
    uint64_t timestamp_ns = 0;
};

// Parses every event in a _data_indication.
Result<std::vector<Event>> parseEvents(const Message& message);

}  // namespace imagefactory::qmf::console

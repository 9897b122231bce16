#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "qmf/message.hpp"
#include "qmf/value.hpp"

// Names and building blocks of the QMF2 map-message protocol shared by the agent and the
// console: exchanges, opcodes, application property keys, object addresses and schema ids.
namespace imagefactory::qmf {

inline constexpr std::string_view kDirectExchange = "qmf.default.direct";
inline constexpr std::string_view kTopicExchange = "qmf.default.topic";
inline constexpr std::string_view kLocateSubject = "console.request.agent_locate";

// Application property keys.
inline constexpr std::string_view kAppIdKey = "x-amqp-0-10.app-id";
inline constexpr std::string_view kAppIdKeyShort = "app_id";
inline constexpr std::string_view kAppId = "qmf2";
inline constexpr std::string_view kOpcodeKey = "qmf.opcode";
inline constexpr std::string_view kMethodKey = "method";
inline constexpr std::string_view kAgentKey = "qmf.agent";
inline constexpr std::string_view kContentKey = "qmf.content";
inline constexpr std::string_view kPartialKey = "partial";

// Opcodes (values of qmf.opcode).
inline constexpr std::string_view kAgentLocateRequest = "_agent_locate_request";
inline constexpr std::string_view kAgentLocateResponse = "_agent_locate_response";
inline constexpr std::string_view kAgentHeartbeat = "_agent_heartbeat_indication";
inline constexpr std::string_view kQueryRequest = "_query_request";
inline constexpr std::string_view kQueryResponse = "_query_response";
inline constexpr std::string_view kMethodRequest = "_method_request";
inline constexpr std::string_view kMethodResponse = "_method_response";
inline constexpr std::string_view kException = "_exception";
inline constexpr std::string_view kDataIndication = "_data_indication";
inline constexpr std::string_view kSubscribeRequest = "_subscribe_request";

// Values of qmf.content.
inline constexpr std::string_view kContentData = "_data";
inline constexpr std::string_view kContentSchema = "_schema";
inline constexpr std::string_view kContentSchemaId = "_schema_id";
inline constexpr std::string_view kContentEvent = "_event";

inline constexpr std::string_view kContentTypeMap = "amqp/map";
inline constexpr std::string_view kContentTypeList = "amqp/list";
inline constexpr std::string_view kContentTypeQmf1 = "x-application/qmf";

// Error codes of _exception replies, as qpidd numbers them.
enum class QmfErrorCode : uint32_t {
    UnknownObject = 1,
    UnknownMethod = 2,
    NotImplemented = 3,
    InvalidParameter = 4,
    FeatureNotImplemented = 5,
    Forbidden = 6,
    Exception = 7,
};

// The error_code an _exception reports for a failure of this class.
QmfErrorCode qmfErrorCodeFor(ErrorCode code);

// A data address (OBJECT_ID): {_agent_name, _object_name[, _agent_epoch]}. An epoch of 0 is
// left out of the map, as the protocol defines for persistent objects.
struct ObjectAddress {
    std::string agent_name;
    std::string object_name;
    uint32_t agent_epoch = 0;

    Map toMap() const;
    // Reads the keys as string or binary and the epoch as any integer width. Missing names
    // or an epoch that is not a 32-bit unsigned integer are errors.
    static Result<ObjectAddress> fromMap(const Map& map);

    bool operator==(const ObjectAddress&) const = default;
};

// A SCHEMA_ID: {_package_name, _class_name, _type, _hash}. Requests may leave out any key but
// the class name, so every field is optional on input; toMap() writes the fields that are set.
struct SchemaId {
    std::string package_name;
    std::string class_name;
    std::string type;  // "_data" or "_event"; empty when not given
    std::optional<Uuid> hash;

    Map toMap() const;
    static Result<SchemaId> fromMap(const Map& map);

    bool operator==(const SchemaId&) const = default;
};

// The qmf.opcode of a message as text (string or binary), or empty when absent.
std::string opcodeOf(const Message& message);

// True when the message carries x-amqp-0-10.app-id (or app_id) equal to qmf2.
bool hasQmf2AppId(const Message& message);

// The correlation id as text: a string or binary as is, an integer in decimal, otherwise empty.
std::string correlationText(const Message& message);

// Splits an incoming reply-to of the form exchange/key at the first '/': the node and the
// subject. A reply-to without '/' names a node and gives an empty subject.
std::pair<std::string, std::string> splitReplyTo(std::string_view reply_to);

// Replaces every '.' with '_', as subjects built from names require.
std::string keyify(std::string_view name);

// Canonical 8-4-4-4-12 lowercase text of a UUID, and the reverse (either case accepted).
std::string uuidText(const Uuid& uuid);
std::optional<Uuid> parseUuid(std::string_view text);

// Nanoseconds since the Unix epoch, the unit of every QMF timestamp.
uint64_t nowNanoseconds();

}  // namespace imagefactory::qmf

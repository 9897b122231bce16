#include "qmf/console_protocol.hpp"

#include <gtest/gtest.h>

#include "value_printer.hpp"

namespace imagefactory::qmf::console {
namespace {

const std::string kAgent = "redhat.com:imagefactory:9958470b-6d5d-46de-af8a-4fbf3e914b3d";
const std::string kReplyTo = "qmf.default.topic/direct-console.65d0477e";

RequestTarget target() {
    return {kAgent, kReplyTo, "7"};
}

std::string prop(const Message& message, const std::string& key) {
    return textField(message.properties, key).value_or("<missing>");
}

TEST(ConsoleProtocolTest, LocateRequestHeaders) {
    Message message = agentLocateRequest("redhat.com", "imagefactory", kReplyTo, "agent-locate");
    EXPECT_EQ(message.node, "qmf.default.topic");
    EXPECT_EQ(message.subject, "console.request.agent_locate");
    EXPECT_EQ(message.reply_to, kReplyTo);
    EXPECT_EQ(message.correlation_id, Value("agent-locate"));
    EXPECT_EQ(message.content_type, "amqp/list");
    EXPECT_EQ(prop(message, "qmf.opcode"), "_agent_locate_request");
    EXPECT_EQ(prop(message, "x-amqp-0-10.app-id"), "qmf2");
    EXPECT_EQ(prop(message, "method"), "request");
}

TEST(ConsoleProtocolTest, LocatePredicateForVendorAndProduct) {
    List expected{
        Value("and"),
        List{Value("eq"), Value("_vendor"), List{Value("quote"), Value("redhat.com")}},
        List{Value("eq"), Value("_product"), List{Value("quote"), Value("imagefactory")}}};
    EXPECT_EQ(vendorProductPredicate("redhat.com", "imagefactory"), expected);
}

TEST(ConsoleProtocolTest, LocatePredicateForVendorOnly) {
    List expected{Value("eq"), Value("_vendor"), List{Value("quote"), Value("redhat.com")}};
    EXPECT_EQ(vendorProductPredicate("redhat.com", ""), expected);
}

TEST(ConsoleProtocolTest, LocatePredicateEmptyWithoutFilter) {
    EXPECT_TRUE(vendorProductPredicate("", "").empty());
}

TEST(ConsoleProtocolTest, QueryByClassBody) {
    List where{Value("eq"), Value("status"), List{Value("quote"), Value("COMPLETED")}};
    Message message = queryByClass(target(), "com.redhat.imagefactory", "BuildAdaptor", where);
    EXPECT_EQ(message.node, "qmf.default.direct");
    EXPECT_EQ(message.subject, kAgent);
    EXPECT_EQ(message.correlation_id, Value("7"));
    EXPECT_EQ(message.content_type, "amqp/map");
    EXPECT_EQ(prop(message, "qmf.opcode"), "_query_request");
    Map expected{{"_what", "OBJECT"},
                 {"_schema_id", Map{{"_package_name", "com.redhat.imagefactory"},
                                    {"_class_name", "BuildAdaptor"},
                                    {"_type", "_data"}}},
                 {"_where", where}};
    EXPECT_EQ(message.body, Value(expected));
}

TEST(ConsoleProtocolTest, QueryByClassOmitsMissingWhere) {
    Message message = queryByClass(target(), "", "ImageFactory", std::nullopt);
    EXPECT_FALSE(message.body.map()->contains("_where"));
}

TEST(ConsoleProtocolTest, QueryByAddressBody) {
    ObjectAddress address{kAgent, "image_factory", 3};
    Message message = queryByAddress(target(), address);
    Map expected{{"_what", "OBJECT"},
                 {"_object_id", Map{{"_agent_name", kAgent},
                                    {"_object_name", "image_factory"},
                                    {"_agent_epoch", uint32_t{3}}}}};
    EXPECT_EQ(message.body, Value(expected));
}

TEST(ConsoleProtocolTest, SchemaQueriesBodies) {
    SchemaId id{"com.redhat.imagefactory", "ImageFactory", "_data", Uuid{}};
    Message schema = schemaQuery(target(), id);
    EXPECT_EQ(textField(*schema.body.map(), "_what"), "SCHEMA");
    EXPECT_EQ(schema.body.map()->at("_schema_id"), Value(id.toMap()));
    Message ids = schemaIdQuery(target());
    EXPECT_EQ(ids.body, Value(Map{{"_what", "SCHEMA_ID"}}));
}

TEST(ConsoleProtocolTest, MethodRequestBody) {
    ObjectAddress address{kAgent, "image_factory", 1};
    Map arguments{{"image", ""}, {"targets", List{Value("mock")}}};
    Message message = methodRequest(target(), address, "build_image", arguments);
    EXPECT_EQ(prop(message, "qmf.opcode"), "_method_request");
    EXPECT_EQ(message.subject, kAgent);
    const Map& body = *message.body.map();
    EXPECT_EQ(textField(body, "_method_name"), "build_image");
    EXPECT_EQ(body.at("_object_id"), Value(address.toMap()));
    EXPECT_EQ(body.at("_arguments"), Value(arguments));
}

Message heartbeatFromLibqmf2() {
    Message message;
    message.properties = {{"qmf.opcode", Binary{"_agent_heartbeat_indication"}},
                          {"qmf.agent", Binary{kAgent}}};
    Map values{{"_epoch", uint32_t{1}},
               {"_heartbeat_interval", uint32_t{5}},
               {"_instance", Binary{"9958470b-6d5d-46de-af8a-4fbf3e914b3d"}},
               {"_name", Binary{kAgent}},
               {"_product", Binary{"imagefactory"}},
               {"_schema_updated", uint64_t{1796398344228715948ULL}},
               {"_timestamp", uint64_t{1796398344236235316ULL}},
               {"_vendor", Binary{"redhat.com"}},
               {"qmf.agent_capability", uint32_t{1}}};
    message.body = Map{{"_values", values}};
    return message;
}

TEST(ConsoleProtocolTest, ParsesHeartbeatWithBinaryStrings) {
    auto info = parseAgentInfo(heartbeatFromLibqmf2());
    ASSERT_TRUE(info.ok()) << info.error().message;
    EXPECT_EQ(info->name, kAgent);
    EXPECT_EQ(info->vendor, "redhat.com");
    EXPECT_EQ(info->product, "imagefactory");
    EXPECT_EQ(info->instance, "9958470b-6d5d-46de-af8a-4fbf3e914b3d");
    EXPECT_EQ(info->epoch, 1u);
    EXPECT_EQ(info->heartbeat_interval_seconds, 5u);
    EXPECT_EQ(info->timestamp_ns, 1796398344236235316ULL);
    EXPECT_EQ(info->schema_updated_ns, 1796398344228715948ULL);
    EXPECT_EQ(info->capability, 1u);
}

TEST(ConsoleProtocolTest, ParsesBrokerHeartbeatWithUshortWidths) {
    Message message = heartbeatFromLibqmf2();
    Map& values = *message.body.map()->at("_values").map();
    values["_epoch"] = int64_t{2};
    values.erase("qmf.agent_capability");
    auto info = parseAgentInfo(message);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->epoch, 2u);
    EXPECT_EQ(info->capability, 0u);
}

TEST(ConsoleProtocolTest, RejectsHeartbeatWithoutValues) {
    Message message = heartbeatFromLibqmf2();
    message.body = Map{};
    EXPECT_FALSE(parseAgentInfo(message).ok());
}

TEST(ConsoleProtocolTest, RejectsWrongOpcodeAsAgentInfo) {
    Message message = heartbeatFromLibqmf2();
    message.properties["qmf.opcode"] = "_query_response";
    EXPECT_FALSE(parseAgentInfo(message).ok());
}

Map dataMap(const std::string& object_name, const std::string& status) {
    return Map{{"_values", Map{{"status", status}, {"percent_complete", int64_t{0}}}},
               {"_object_id", Map{{"_agent_name", Binary{kAgent}},
                                  {"_object_name", Binary{object_name}},
                                  {"_agent_epoch", uint32_t{1}}}},
               {"_schema_id", Map{{"_package_name", "com.redhat.imagefactory"},
                                  {"_class_name", "BuildAdaptor"},
                                  {"_type", "_data"},
                                  {"_hash", *parseUuid("3d6f726d-0e02-fce2-0cdf-6d83a0656f79")}}},
               {"_create_ts", uint64_t{10}}};
}

TEST(ConsoleProtocolTest, ParsesDataQueryReply) {
    Message message;
    message.properties = {
        {"qmf.opcode", "_query_response"}, {"qmf.content", Binary{"_data"}}, {"partial", Value()}};
    message.body = List{dataMap("build_adaptor:build_image:1", "PENDING")};
    auto reply = parseQueryReply(message);
    ASSERT_TRUE(reply.ok()) << reply.error().message;
    EXPECT_TRUE(reply->partial);
    EXPECT_EQ(reply->content, "_data");
    ASSERT_EQ(reply->objects.size(), 1u);
    const DataObject& object = reply->objects.front();
    EXPECT_EQ(object.address, (ObjectAddress{kAgent, "build_adaptor:build_image:1", 1}));
    EXPECT_EQ(object.schema_id.class_name, "BuildAdaptor");
    EXPECT_EQ(uuidText(*object.schema_id.hash), "3d6f726d-0e02-fce2-0cdf-6d83a0656f79");
    EXPECT_EQ(textField(object.values, "status"), "PENDING");
    EXPECT_EQ(object.create_ts, 10u);
}

TEST(ConsoleProtocolTest, FinalQueryReplyIsNotPartial) {
    Message message;
    message.properties = {{"qmf.opcode", "_query_response"}, {"qmf.content", "_data"}};
    message.body = List{};
    auto reply = parseQueryReply(message);
    ASSERT_TRUE(reply.ok());
    EXPECT_FALSE(reply->partial);
    EXPECT_TRUE(reply->objects.empty());
}

TEST(ConsoleProtocolTest, SchemaQueryReplyKeepsItems) {
    Message message;
    message.properties = {{"qmf.opcode", "_query_response"}, {"qmf.content", "_schema"}};
    message.body = List{Map{{"_methods", List{}}}};
    auto reply = parseQueryReply(message);
    ASSERT_TRUE(reply.ok());
    EXPECT_EQ(reply->items.size(), 1u);
    EXPECT_TRUE(reply->objects.empty());
}

TEST(ConsoleProtocolTest, QueryReplyCarriesException) {
    Message message;
    message.properties = {{"qmf.opcode", "_exception"}};
    message.body =
        Map{{"_values", Map{{"error_text", "Unknown _what 'FOO'"}, {"error_code", uint32_t{4}}}}};
    auto reply = parseQueryReply(message);
    ASSERT_TRUE(reply.ok());
    ASSERT_TRUE(reply->exception.has_value());
    EXPECT_EQ(reply->exception->error_code, 4u);
    EXPECT_EQ(reply->exception->error_text, "Unknown _what 'FOO'");
}

TEST(ConsoleProtocolTest, RejectsQueryReplyWithMapBody) {
    Message message;
    message.properties = {{"qmf.opcode", "_query_response"}, {"qmf.content", "_data"}};
    message.body = Map{};
    EXPECT_FALSE(parseQueryReply(message).ok());
}

TEST(ConsoleProtocolTest, RejectsDataItemWithBadAddress) {
    Map item = dataMap("x", "NEW");
    item["_object_id"] = Map{{"_object_name", "x"}, {"_agent_epoch", "one"}};
    Message message;
    message.properties = {{"qmf.opcode", "_query_response"}, {"qmf.content", "_data"}};
    message.body = List{item};
    EXPECT_FALSE(parseQueryReply(message).ok());
}

TEST(ConsoleProtocolTest, ParsesMethodResponse) {
    Message message;
    message.properties = {{"qmf.opcode", Binary{"_method_response"}}};
    List adaptors{Map{{"_agent_name", kAgent}, {"_object_name", "build_adaptor:build_image:1"}}};
    message.body = Map{{"_arguments", Map{{"build_adaptors", adaptors}}}};
    auto reply = parseMethodReply(message);
    ASSERT_TRUE(reply.ok());
    EXPECT_TRUE(reply->ok());
    EXPECT_EQ(reply->arguments.at("build_adaptors"), Value(adaptors));
}

TEST(ConsoleProtocolTest, ExceptionDefaultsCodeAndText) {
    Message message;
    message.properties = {{"qmf.opcode", "_exception"}};
    message.body = Map{{"_values", Map{}}};
    auto reply = parseMethodReply(message);
    ASSERT_TRUE(reply.ok());
    ASSERT_FALSE(reply->ok());
    EXPECT_EQ(reply->exception->error_code, 7u);
    EXPECT_EQ(reply->exception->error_text, "error");
}

TEST(ConsoleProtocolTest, ParsesStatusEvent) {
    Message message;
    message.properties = {
        {"qmf.opcode", "_data_indication"}, {"qmf.content", "_event"}, {"qmf.agent", kAgent}};
    Map addr{{"_agent_name", kAgent}, {"_object_name", "build_adaptor:build_image:1"}};
    message.body = List{Map{{"_schema_id", Map{{"_package_name", "com.redhat.imagefactory"},
                                               {"_class_name", "BuildAdaptorStatusEvent"},
                                               {"_type", "_event"}}},
                            {"_values", Map{{"addr", addr},
                                            {"event", "STATUS"},
                                            {"old_status", "NEW"},
                                            {"new_status", "PENDING"}}},
                            {"_severity", int32_t{5}},
                            {"_timestamp", uint64_t{42}}}};
    auto events = parseEvents(message);
    ASSERT_TRUE(events.ok()) << events.error().message;
    ASSERT_EQ(events->size(), 1u);
    const Event& event = events->front();
    EXPECT_EQ(event.agent_name, kAgent);
    EXPECT_EQ(event.schema_id.class_name, "BuildAdaptorStatusEvent");
    EXPECT_EQ(event.severity, 5);
    EXPECT_EQ(event.timestamp_ns, 42u);
    EXPECT_EQ(textField(event.values, "new_status"), "PENDING");
    EXPECT_EQ(event.values.at("addr"), Value(addr));
}

TEST(ConsoleProtocolTest, RejectsEventWithBadSeverity) {
    Message message;
    message.properties = {{"qmf.opcode", "_data_indication"}, {"qmf.content", "_event"}};
    message.body = List{Map{{"_values", Map{}}, {"_severity", int32_t{9}}}};
    EXPECT_FALSE(parseEvents(message).ok());
}

TEST(ConsoleProtocolTest, RejectsObjectUpdateAsEvents) {
    Message message;
    message.properties = {{"qmf.opcode", "_data_indication"}, {"qmf.content", "_data"}};
    message.body = List{};
    EXPECT_FALSE(parseEvents(message).ok());
}

TEST(ConsoleProtocolTest, SplitsReplyToAtFirstSlash) {
    EXPECT_EQ(splitReplyTo("qmf.default.topic/direct-console.1"),
              (std::pair<std::string, std::string>{"qmf.default.topic", "direct-console.1"}));
    EXPECT_EQ(splitReplyTo("/exchange/amq.direct/reply-1"),
              (std::pair<std::string, std::string>{"", "exchange/amq.direct/reply-1"}));
    EXPECT_EQ(splitReplyTo("reply-queue"),
              (std::pair<std::string, std::string>{"reply-queue", ""}));
}

TEST(ConsoleProtocolTest, UuidTextRoundTrip) {
    const std::string text = "3d6f726d-0e02-fce2-0cdf-6d83a0656f79";
    auto uuid = parseUuid(text);
    ASSERT_TRUE(uuid.has_value());
    EXPECT_EQ(uuidText(*uuid), text);
    EXPECT_FALSE(parseUuid("3d6f726d-0e02-fce2-0cdf-6d83a0656f7").has_value());
    EXPECT_FALSE(parseUuid("3d6f726dx0e02-fce2-0cdf-6d83a0656f79").has_value());
}

TEST(ConsoleProtocolTest, AddressOmitsZeroEpoch) {
    ObjectAddress address{kAgent, "image_factory", 0};
    EXPECT_FALSE(address.toMap().contains("_agent_epoch"));
}

}  // namespace
}  // namespace imagefactory::qmf::console

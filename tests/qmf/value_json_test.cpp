#include "qmf/value_json.hpp"

#include <gtest/gtest.h>

#include "qmf/protocol.hpp"
#include "value_printer.hpp"

namespace imagefactory::qmf {
namespace {

TEST(ValueJsonTest, RoundTripKeepsTypes) {
    Value value = Map{{"null", Value()},
                      {"bool", false},
                      {"int", int32_t{-2}},
                      {"long", int64_t{-3}},
                      {"uint", uint32_t{4}},
                      {"ulong", uint64_t{18000000000000000000ull}},
                      {"double", 1.5},
                      {"string", "text"},
                      {"binary", Binary{"bytes"}},
                      {"uuid", *parseUuid("3d6f726d-0e02-fce2-0cdf-6d83a0656f79")},
                      {"list", List{Value("a"), Value(List{})}},
                      {"tag-like map", Map{{"uint", "not a number"}}}};
    auto back = valueFromJson(toJson(value));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, value);
}

TEST(ValueJsonTest, PlainJsonMapsToNaturalTypes) {
    auto value = valueFromJson(nlohmann::json::parse(R"({"a": 1, "b": "x", "c": [true]})"));
    ASSERT_TRUE(value.ok());
    EXPECT_EQ(*value, Value(Map{{"a", int64_t{1}}, {"b", "x"}, {"c", List{Value(true)}}}));
}

TEST(ValueJsonTest, RejectsBadTaggedValues) {
    for (const char* text : {R"({"uint": -1})", R"({"int": 3000000000})", R"({"uuid": "nope"})",
                             R"({"binary": 5})", R"({"ulong": "5"})", R"(18446744073709551615)"}) {
        EXPECT_FALSE(valueFromJson(nlohmann::json::parse(text)).ok()) << text;
    }
}

TEST(ValueJsonTest, MessageRoundTrip) {
    Message message;
    message.to = "qmf.default.direct";
    message.subject = "agent";
    message.reply_to = "qmf.default.topic/direct-console.1";
    message.correlation_id = Value("3");
    message.content_type = "amqp/map";
    message.properties = {{"qmf.opcode", Binary{"_query_request"}}};
    message.body = Map{{"_what", "OBJECT"}};
    message.ttl_ms = 5;
    auto back = messageFromJson(toJson(message));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->to, message.to);
    EXPECT_EQ(back->subject, message.subject);
    EXPECT_EQ(back->reply_to, message.reply_to);
    EXPECT_EQ(back->correlation_id, message.correlation_id);
    EXPECT_EQ(back->content_type, message.content_type);
    EXPECT_EQ(back->properties, message.properties);
    EXPECT_EQ(back->body, message.body);
    EXPECT_EQ(back->ttl_ms, 5u);
}

TEST(ValueJsonTest, RejectsUnknownMessageField) {
    EXPECT_FALSE(messageFromJson(nlohmann::json::parse(R"({"user_id": "x"})")).ok());
}

}  // namespace
}  // namespace imagefactory::qmf

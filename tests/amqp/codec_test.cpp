#include "amqp/codec.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <proton/binary.hpp>
#include <proton/codec/encoder.hpp>
#include <proton/codec/vector.hpp>
#include <proton/decimal.hpp>
#include <proton/symbol.hpp>
#include <proton/timestamp.hpp>
#include <proton/uuid.hpp>
#include <vector>

namespace imagefactory::amqp {
namespace {

using proton::codec::encoder;
using proton::codec::finish;
using proton::codec::start;

qmf::Value decoded(const proton::value& value) {
    auto result = fromProtonValue(value);
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
    return result.ok() ? result.value() : qmf::Value();
}

qmf::Uuid sampleUuid() {
    qmf::Uuid uuid;
    for (size_t i = 0; i < uuid.bytes.size(); ++i) {
        uuid.bytes[i] = static_cast<uint8_t>(i * 17);
    }
    return uuid;
}

std::string allBytes() {
    std::string bytes;
    for (int i = 0; i < 256; ++i) {
        bytes += static_cast<char>(i);
    }
    return bytes;
}

class CodecTest : public ::testing::Test {};

TEST_F(CodecTest, RoundTripsEveryValueType) {
    std::vector<qmf::Value> values = {
        qmf::Value(),
        qmf::Value(true),
        qmf::Value(false),
        qmf::Value(std::numeric_limits<int32_t>::min()),
        qmf::Value(std::numeric_limits<int64_t>::min()),
        qmf::Value(std::numeric_limits<uint32_t>::max()),
        qmf::Value(std::numeric_limits<uint64_t>::max()),
        qmf::Value(3.25),
        qmf::Value("text with ünïcode"),
        qmf::Value(qmf::Binary{allBytes()}),
        qmf::Value(sampleUuid()),
        qmf::Value(qmf::List{qmf::Value(1), qmf::Value("a"), qmf::Value(qmf::List{})}),
        qmf::Value(qmf::Map{{"a", qmf::Value(uint32_t{1})},
                            {"nested", qmf::Value(qmf::Map{{"b", qmf::Value()}})}}),
    };
    for (const auto& value : values) {
        proton::value encoded = toProtonValue(value);
        qmf::Value back = decoded(encoded);
        // Integers come back widened, so compare through the widening rule.
        switch (value.type()) {
            case qmf::Value::Type::Int32:
                EXPECT_EQ(back, qmf::Value(int64_t{*value.get<int32_t>()}));
                break;
            case qmf::Value::Type::UInt32:
                EXPECT_EQ(back, qmf::Value(uint64_t{*value.get<uint32_t>()}));
                break;
            case qmf::Value::Type::List:
                EXPECT_EQ(back.list()->size(), value.list()->size());
                break;
            case qmf::Value::Type::Map:
                EXPECT_EQ(back.map()->size(), value.map()->size());
                EXPECT_EQ(back.map()->at("a"), qmf::Value(uint64_t{1}));
                break;
            default:
                EXPECT_EQ(back, value) << "type " << static_cast<int>(value.type());
        }
    }
}

TEST_F(CodecTest, ReadsValuesAfterNull) {
    qmf::Value map(qmf::Map{{"a", qmf::Value()}, {"b", qmf::Value("after")}});
    EXPECT_EQ(decoded(toProtonValue(map)).map()->at("b"), qmf::Value("after"));
    qmf::Value list(qmf::List{qmf::Value(), qmf::Value(true)});
    EXPECT_EQ(decoded(toProtonValue(list)).list()->at(1), qmf::Value(true));
}

TEST_F(CodecTest, EncodesExactIntegerWidths) {
    EXPECT_EQ(toProtonValue(qmf::Value(int32_t{-5})).type(), proton::INT);
    EXPECT_EQ(toProtonValue(qmf::Value(int64_t{-5})).type(), proton::LONG);
    EXPECT_EQ(toProtonValue(qmf::Value(uint32_t{5})).type(), proton::UINT);
    EXPECT_EQ(toProtonValue(qmf::Value(uint64_t{5})).type(), proton::ULONG);
    EXPECT_EQ(toProtonValue(qmf::Value("s")).type(), proton::STRING);
    EXPECT_EQ(toProtonValue(qmf::Value(qmf::Binary{"b"})).type(), proton::BINARY);
    EXPECT_EQ(toProtonValue(qmf::Value(sampleUuid())).type(), proton::UUID);
}

TEST_F(CodecTest, EncodesListsAsListsNotArrays) {
    qmf::Value list(qmf::List{qmf::Value(uint32_t{1}), qmf::Value(uint32_t{2})});
    EXPECT_EQ(toProtonValue(list).type(), proton::LIST);
    EXPECT_EQ(toProtonValue(qmf::Value(qmf::Map{})).type(), proton::MAP);
}

TEST_F(CodecTest, WidensEveryIntegerWidth) {
    EXPECT_EQ(decoded(proton::value(uint8_t{200})), qmf::Value(uint64_t{200}));
    EXPECT_EQ(decoded(proton::value(uint16_t{60000})), qmf::Value(uint64_t{60000}));
    EXPECT_EQ(decoded(proton::value(uint32_t{4000000000u})), qmf::Value(uint64_t{4000000000u}));
    EXPECT_EQ(decoded(proton::value(uint64_t{1} << 63)), qmf::Value(uint64_t{1} << 63));
    EXPECT_EQ(decoded(proton::value(int8_t{-100})), qmf::Value(int64_t{-100}));
    EXPECT_EQ(decoded(proton::value(int16_t{-30000})), qmf::Value(int64_t{-30000}));
    EXPECT_EQ(decoded(proton::value(int32_t{-2000000000})), qmf::Value(int64_t{-2000000000}));
    EXPECT_EQ(decoded(proton::value(int64_t{-1} << 62)), qmf::Value(int64_t{-1} << 62));
}

TEST_F(CodecTest, DecodesOtherScalarTypes) {
    EXPECT_EQ(decoded(proton::value(1.5f)), qmf::Value(1.5));
    EXPECT_EQ(decoded(proton::value(proton::symbol("sym"))), qmf::Value("sym"));
    EXPECT_EQ(decoded(proton::value(wchar_t{0x20AC})), qmf::Value("\xE2\x82\xAC"));
    EXPECT_EQ(decoded(proton::value(proton::timestamp(1234))), qmf::Value(int64_t{1234}));
    proton::decimal32 decimal;
    EXPECT_EQ(decoded(proton::value(decimal)).type(), qmf::Value::Type::Binary);
}

TEST_F(CodecTest, DecodesDescribedValueAsItsValue) {
    proton::value described;
    encoder out(described);
    out << start::described() << proton::symbol("apache.org:legacy-amqp-direct-binding:string")
        << std::string("key") << finish();
    EXPECT_EQ(decoded(described), qmf::Value("key"));
}

TEST_F(CodecTest, DecodesArrayAsList) {
    std::vector<int32_t> numbers = {1, 2, 3};
    proton::value array(numbers);
    ASSERT_EQ(array.type(), proton::ARRAY);
    qmf::Value back = decoded(array);
    ASSERT_NE(back.list(), nullptr);
    EXPECT_EQ(back.list()->size(), 3u);
}

TEST_F(CodecTest, ConvertsNonStringMapKeys) {
    proton::value map;
    encoder out(map);
    out << start::map() << proton::symbol("sym") << 1 << uint64_t{7} << 2 << proton::binary("bin")
        << 3 << 1.5 << 4 << finish();
    qmf::Value back = decoded(map);
    ASSERT_NE(back.map(), nullptr);
    EXPECT_EQ(back.map()->count("sym"), 1u);
    EXPECT_EQ(back.map()->count("7"), 1u);
    EXPECT_EQ(back.map()->count("bin"), 1u);
    EXPECT_EQ(back.map()->size(), 3u);
}

TEST_F(CodecTest, RejectsDeepNesting) {
    qmf::Value value(qmf::List{});
    for (int i = 0; i < kMaxDepth + 5; ++i) {
        value = qmf::Value(qmf::List{value});
    }
    auto result = fromProtonValue(toProtonValue(value));
    EXPECT_FALSE(result.ok());
}

TEST_F(CodecTest, RoundTripsMessageFields) {
    qmf::Message message;
    message.to = "qmf.default.direct";
    message.subject = "agent";
    message.reply_to = "qmf.default.topic/direct-console.1";
    message.correlation_id = qmf::Value("3");
    message.content_type = "amqp/map";
    message.properties = {{"qmf.opcode", qmf::Value("_method_request")},
                          {"x-amqp-0-10.app-id", qmf::Value("qmf2")},
                          {"n", qmf::Value(uint32_t{1})}};
    message.body = qmf::Value(qmf::Map{{"_method_name", qmf::Value("build_image")}});
    message.ttl_ms = 20000;

    auto back = fromProtonMessage(toProtonMessage(message));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->to, message.to);
    EXPECT_EQ(back->subject, message.subject);
    EXPECT_EQ(back->reply_to, message.reply_to);
    EXPECT_EQ(back->correlation_id, message.correlation_id);
    EXPECT_EQ(back->content_type, message.content_type);
    EXPECT_EQ(back->properties.at("qmf.opcode"), qmf::Value("_method_request"));
    EXPECT_EQ(back->properties.at("n"), qmf::Value(uint64_t{1}));
    EXPECT_EQ(back->body, message.body);
    EXPECT_EQ(back->ttl_ms, 20000u);
    EXPECT_FALSE(back->data.has_value());
}

TEST_F(CodecTest, KeepsDataSectionAsBytes) {
    qmf::Message message;
    message.data = allBytes();
    message.content_type = "amqp/map";
    auto back = fromProtonMessage(toProtonMessage(message));
    ASSERT_TRUE(back.ok());
    ASSERT_TRUE(back->data.has_value());
    EXPECT_EQ(*back->data, allBytes());
    EXPECT_TRUE(back->body.isNull());
}

TEST_F(CodecTest, SurvivesEncodedMessageRoundTripThroughBytes) {
    qmf::Message message;
    message.correlation_id = qmf::Value(uint64_t{42});
    message.body = qmf::Value(qmf::List{qmf::Value(sampleUuid())});
    std::vector<char> bytes;
    toProtonMessage(message).encode(bytes);
    proton::message decoded_message;
    decoded_message.decode(bytes);
    auto back = fromProtonMessage(decoded_message);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->correlation_id, qmf::Value(uint64_t{42}));
    EXPECT_EQ(back->body, message.body);
}

TEST_F(CodecTest, RejectsGarbageBytesWithoutCrashing) {
    std::vector<std::vector<char>> inputs = {
        {},
        {0x00},
        {0x00, 0x53, 0x77, static_cast<char>(0xd0), 0x7f, 0x7f, 0x7f, 0x7f},
        {0x00, 0x53, 0x74, static_cast<char>(0xc1), 0x05, 0x02, static_cast<char>(0xa1), 0x01},
        std::vector<char>(64, static_cast<char>(0xff)),
    };
    for (const auto& input : inputs) {
        proton::message message;
        try {
            message.decode(input);
        } catch (const proton::error&) {
            continue;  // Proton rejects the bytes before our code runs
        }
        auto result = fromProtonMessage(message);
        (void)result;  // any Result is fine; the point is not crashing
        SUCCEED();
    }
}

}  // namespace
}  // namespace imagefactory::amqp

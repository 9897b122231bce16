#include "qmf/codec010.hpp"

#include <gtest/gtest.h>

#include <random>

#include "qmf/protocol.hpp"
#include "value_printer.hpp"

namespace imagefactory::qmf::codec010 {
namespace {

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (int value : values) {
        out.push_back(static_cast<char>(value));
    }
    return out;
}

Map sampleMap() {
    return Map{{"null", Value()},
               {"bool", true},
               {"int32", int32_t{-5}},
               {"int64", int64_t{-1234567890123}},
               {"uint32", uint32_t{4000000000u}},
               {"uint64", uint64_t{18000000000000000000ull}},
               {"double", 2.5},
               {"string", "h\xc3\xa9llo"},
               {"binary", Binary{std::string("\x00\xff", 2)}},
               {"uuid", *parseUuid("3d6f726d-0e02-fce2-0cdf-6d83a0656f79")},
               {"list", List{Value("a"), Value(int64_t{1}), List{}, Map{}}},
               {"map", Map{{"inner", Map{{"deeper", "x"}}}}}};
}

// Decoding widens integers to 64 bits, as the AMQP layer does.
Map widened() {
    Map map = sampleMap();
    map["int32"] = int64_t{-5};
    map["uint32"] = uint64_t{4000000000u};
    return map;
}

TEST(Codec010Test, MapRoundTrip) {
    auto encoded = encodeMap(sampleMap());
    ASSERT_TRUE(encoded.ok()) << encoded.error().message;
    auto decoded = decodeMap(*encoded);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(*decoded, widened());
}

TEST(Codec010Test, ListRoundTrip) {
    List list{Value("one"), Value(int64_t{2}), Value(Map{{"k", List{Value()}}})};
    auto encoded = encodeList(list);
    ASSERT_TRUE(encoded.ok());
    auto decoded = decodeList(*encoded);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(*decoded, list);
}

TEST(Codec010Test, EncodesStringAsUtf8Str16) {
    auto encoded = encodeMap(Map{{"k", "ab"}});
    ASSERT_TRUE(encoded.ok());
    EXPECT_EQ(*encoded, bytes({0, 0, 0, 11, 0, 0, 0, 1, 1, 'k', 0x95, 0, 2, 'a', 'b'}));
}

TEST(Codec010Test, EncodesLongStringAsVbin32) {
    std::string text(70000, 'x');
    auto encoded = encodeList(List{Value(text)});
    ASSERT_TRUE(encoded.ok());
    EXPECT_EQ(static_cast<uint8_t>((*encoded)[8]), 0xa0);
    auto decoded = decodeList(*encoded);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ((*decoded)[0].text(), text);
}

TEST(Codec010Test, RejectsLongMapKey) {
    EXPECT_FALSE(encodeMap(Map{{std::string(256, 'k'), 1}}).ok());
}

TEST(Codec010Test, DecodesQpidRequestWithVbin16) {
    // {_what: vbin16 "OBJECT"} as the qpid::messaging encoder writes an untagged string.
    std::string encoded =
        bytes({0, 0, 0, 0x14, 0, 0, 0, 1, 5, '_', 'w', 'h', 'a', 't', 0x90, 0, 6}) + "OBJECT";
    encoded[3] = static_cast<char>(encoded.size() - 4);
    auto decoded = decodeMap(encoded);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(decoded->at("_what"), Value(Binary{"OBJECT"}));
}

TEST(Codec010Test, DecodesEveryStringForm) {
    struct Case {
        std::string name;
        std::string value_bytes;
        Value expected;
    };
    std::vector<Case> cases = {
        {"vbin8", bytes({0x80, 2, 'h', 'i'}), Value(Binary{"hi"})},
        {"str8 utf8", bytes({0x85, 2, 'h', 'i'}), Value("hi")},
        {"str8 latin9 euro", bytes({0x84, 1, 0xa4}), Value("\xe2\x82\xac")},
        {"str16 latin9 e-acute", bytes({0x94, 0, 1, 0xe9}), Value("\xc3\xa9")},
        {"str16 utf16", bytes({0x96, 0, 4, 0, 'h', 0, 'i'}), Value("hi")},
        {"str16 utf16 pair", bytes({0x96, 0, 4, 0xd8, 0x3d, 0xde, 0x00}),
         Value("\xf0\x9f\x98\x80")},
        {"str16 invalid utf8 kept", bytes({0x95, 0, 1, 0xff}),
         Value(Binary{std::string(1, '\xff')})},
        {"vbin32", bytes({0xa0, 0, 0, 0, 1, 'z'}), Value(Binary{"z"})},
    };
    for (const auto& c : cases) {
        std::string list = bytes({0, 0, 0, 0, 0, 0, 0, 1}) + c.value_bytes;
        list[3] = static_cast<char>(list.size() - 4);
        auto decoded = decodeList(list);
        ASSERT_TRUE(decoded.ok()) << c.name << ": " << decoded.error().message;
        EXPECT_EQ((*decoded)[0], c.expected) << c.name;
    }
}

TEST(Codec010Test, DecodesNarrowIntegersWidened) {
    std::string list = bytes({0,    0,    0,    0,    0,    0,    0,    5,    0x01, 0xff,
                              0x02, 0xff, 0x11, 0x80, 0x00, 0x12, 0xff, 0xfe, 0x08, 0x01});
    list[3] = static_cast<char>(list.size() - 4);
    auto decoded = decodeList(list);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ((*decoded)[0], Value(int64_t{-1}));
    EXPECT_EQ((*decoded)[1], Value(uint64_t{255}));
    EXPECT_EQ((*decoded)[2], Value(int64_t{-32768}));
    EXPECT_EQ((*decoded)[3], Value(uint64_t{65534}));
    EXPECT_EQ((*decoded)[4], Value(true));
}

TEST(Codec010Test, DecodesArrayAsList) {
    std::string list = bytes({0,    0, 0, 0, 0, 0, 0, 1, 0xaa, 0,    0,    0,    13,
                              0x21, 0, 0, 0, 2, 0, 0, 0, 7,    0xff, 0xff, 0xff, 0xff});
    list[3] = static_cast<char>(list.size() - 4);
    auto decoded = decodeList(list);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ((*decoded)[0], Value(List{Value(int64_t{7}), Value(int64_t{-1})}));
}

TEST(Codec010Test, RejectsHostileBytes) {
    struct Case {
        std::string name;
        std::string input;
    };
    std::vector<Case> cases = {
        {"empty", ""},
        {"short size", bytes({0, 0})},
        {"size beyond buffer", bytes({0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0})},
        {"size below header", bytes({0, 0, 0, 2, 0, 0})},
        {"huge count", bytes({0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff})},
        {"truncated key", bytes({0, 0, 0, 6, 0, 0, 0, 1, 9, 'a'})},
        {"missing type code", bytes({0, 0, 0, 6, 0, 0, 0, 1, 1, 'a'})},
        {"unknown type code", bytes({0, 0, 0, 7, 0, 0, 0, 1, 1, 'a', 0x77})},
        {"truncated int64", bytes({0, 0, 0, 9, 0, 0, 0, 1, 1, 'a', 0x31, 0, 0})},
        {"string beyond size", bytes({0, 0, 0, 10, 0, 0, 0, 1, 1, 'a', 0x95, 0xff, 0xff})},
        {"vbin32 huge", bytes({0, 0, 0, 12, 0, 0, 0, 1, 1, 'a', 0xa0, 0xff, 0xff, 0xff, 0xff})},
        {"nested size beyond parent",
         bytes({0, 0, 0, 11, 0, 0, 0, 1, 1, 'a', 0xa8, 0, 0, 0x10, 0})},
        {"trailing bytes", bytes({0, 0, 0, 4, 0, 0, 0, 0, 0xff})},
        {"odd utf16", bytes({0, 0, 0, 10, 0, 0, 0, 1, 1, 'a', 0x96, 0, 1, 'x'})},
        {"unpaired surrogate", bytes({0, 0, 0, 11, 0, 0, 0, 1, 1, 'a', 0x96, 0, 2, 0xdc, 0})},
        {"void array count",
         bytes({0, 0, 0, 16, 0, 0, 0, 1, 1, 'a', 0xaa, 0, 0, 0, 5, 0xf0, 0xff, 0xff, 0xff, 0xff})},
    };
    for (const auto& c : cases) {
        auto decoded = decodeMap(c.input);
        EXPECT_FALSE(decoded.ok()) << c.name;
    }
}

TEST(Codec010Test, RejectsDeepNesting) {
    // 100 lists, each holding the next: deeper than kMaxNesting.
    std::string inner = bytes({0, 0, 0, 4, 0, 0, 0, 0});
    for (int i = 0; i < 100; ++i) {
        std::string outer = bytes({0, 0, 0, 0, 0, 0, 0, 1, 0xa9}) + inner;
        uint32_t size = static_cast<uint32_t>(outer.size() - 4);
        outer[0] = static_cast<char>(size >> 24);
        outer[1] = static_cast<char>(size >> 16);
        outer[2] = static_cast<char>(size >> 8);
        outer[3] = static_cast<char>(size);
        inner = outer;
    }
    auto decoded = decodeList(inner);
    ASSERT_FALSE(decoded.ok());
    EXPECT_NE(decoded.error().message.find("nesting"), std::string::npos);
}

TEST(Codec010Test, SurvivesRandomCorruption) {
    auto encoded = encodeMap(sampleMap());
    ASSERT_TRUE(encoded.ok());
    std::mt19937 random(12345);
    size_t decoded_ok = 0;
    for (int round = 0; round < 5000; ++round) {
        std::string mutated = *encoded;
        int edits = 1 + static_cast<int>(random() % 4);
        for (int e = 0; e < edits; ++e) {
            mutated[random() % mutated.size()] = static_cast<char>(random() & 0xff);
        }
        if (round % 3 == 0) {
            mutated.resize(random() % mutated.size());
        }
        if (decodeMap(mutated).ok()) {
            ++decoded_ok;
        }
    }
    // Some mutations only change payload bytes and still decode; none may crash.
    EXPECT_LT(decoded_ok, 5000u);
}

}  // namespace
}  // namespace imagefactory::qmf::codec010

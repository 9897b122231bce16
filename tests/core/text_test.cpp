#include "core/text.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/base64.hpp"

namespace imagefactory {
namespace {

TEST(Base64Test, DecodesStandardText) {
    struct DecodeCase {
        const char* text;
        std::string decoded;
    };
    const DecodeCase cases[] = {
        {"", ""},
        {"aGVsbG8=", "hello"},
        {"aGVsbG8", "hello"},
        {"aGVsbA==", "hell"},
        {"aGVsbA", "hell"},
        {"aGVs", "hel"},
        {" aGVs\n bG8=\r\n", "hello"},
        {"AAEC/w==", std::string("\x00\x01\x02\xff", 4)},
        {"+/+/", "\xfb\xff\xbf"},
    };
    for (const DecodeCase& c : cases) {
        Result<std::string> decoded = decodeBase64(c.text);
        ASSERT_TRUE(decoded.ok()) << c.text << ": " << decoded.error().message;
        EXPECT_EQ(*decoded, c.decoded) << c.text;
    }
}

TEST(Base64Test, RejectsInvalidText) {
    struct BadCase {
        const char* text;
        const char* message_part;
    };
    const BadCase cases[] = {
        {"aGVs*G8=", "character \"*\" at offset 4"},
        {"aGVsbG8=aGVs", "after '=' padding at offset 8"},
        {"aGVsb", "single leftover character"},
        {"aGVsbG8==", "wrong number of '=' padding characters (2)"},
        {"=", "wrong number of '=' padding characters (1)"},
        {"aGVs-_", "character \"-\""},
    };
    for (const BadCase& c : cases) {
        Result<std::string> decoded = decodeBase64(c.text);
        ASSERT_FALSE(decoded.ok()) << c.text;
        EXPECT_EQ(decoded.error().code, ErrorCode::UserInput);
        EXPECT_NE(decoded.error().message.find(c.message_part), std::string::npos)
            << decoded.error().message;
    }
}

TEST(QuoteValueTest, EscapesControlAndInvalidBytes) {
    EXPECT_EQ(quoteValue("plain"), "\"plain\"");
    EXPECT_EQ(quoteValue("a\"b\\c"), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(quoteValue("line\nnext\ttab"), "\"line\\nnext\\ttab\"");
    EXPECT_EQ(quoteValue(std::string("nul\0esc\x1b", 8)), "\"nul\\x00esc\\x1B\"");
    EXPECT_EQ(quoteValue("bad\xff"), "\"bad\\xFF\"");
    EXPECT_EQ(quoteValue("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
}

TEST(QuoteValueTest, CutsLongValue) {
    EXPECT_EQ(quoteValue("abcdef", 3), "\"abc\"... (6 bytes)");
    EXPECT_EQ(quoteValue("abc", 3), "\"abc\"");
}

TEST(Utf8Test, FindsFirstInvalidByte) {
    EXPECT_EQ(findInvalidUtf8("plain ascii"), std::string_view::npos);
    EXPECT_EQ(findInvalidUtf8("\xe2\x82\xac \xf0\x9f\x98\x80"), std::string_view::npos);
    EXPECT_EQ(findInvalidUtf8("ab\x80"), 2u);
    EXPECT_EQ(findInvalidUtf8("\xc0\x80"), 0u);          // overlong NUL
    EXPECT_EQ(findInvalidUtf8("x\xed\xa0\x80"), 1u);     // surrogate
    EXPECT_EQ(findInvalidUtf8("\xf4\x90\x80\x80"), 0u);  // past U+10FFFF
    EXPECT_EQ(findInvalidUtf8("\xe2\x82"), 0u);          // cut short
}

TEST(TrimWhitespaceTest, TrimsBothEnds) {
    EXPECT_EQ(trimWhitespace("  a b\n\t"), "a b");
    EXPECT_EQ(trimWhitespace(" \n"), "");
    EXPECT_EQ(trimWhitespace(""), "");
}

}  // namespace
}  // namespace imagefactory

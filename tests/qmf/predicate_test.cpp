#include "qmf/predicate.hpp"

#include <gtest/gtest.h>

#include "value_printer.hpp"

namespace imagefactory::qmf {
namespace {

Value q(Value value) {
    return List{Value("quote"), std::move(value)};
}

Value b(const std::string& text) {
    return Binary{text};
}

const Map kValues = {
    {"_vendor", Binary{"redhat.com"}},
    {"_product", "imagefactory"},
    {"status", "COMPLETED"},
    {"count", int64_t{5}},
    {"epoch", uint32_t{2}},
    {"huge", uint64_t{18000000000000000000ull}},
    {"negative", int32_t{-3}},
    {"ratio", 0.5},
    {"flag", true},
    {"empty", ""},
};

struct Case {
    std::string name;
    List predicate;
    bool expected;
};

TEST(PredicateTest, EvaluatesTable) {
    std::vector<Case> cases = {
        {"empty list", {}, true},
        {"true", {Value("true")}, true},
        {"false", {Value("false")}, false},
        {"eq binary attribute", {Value("eq"), Value("_vendor"), q("redhat.com")}, true},
        {"eq binary tokens", {b("eq"), b("_product"), List{b("quote"), b("imagefactory")}}, true},
        {"eq mismatch", {Value("eq"), Value("_vendor"), q("apache.org")}, false},
        {"eq missing property", {Value("eq"), Value("nothing"), q("x")}, false},
        {"ne", {Value("ne"), Value("status"), q("FAILED")}, true},
        {"ne missing property", {Value("ne"), Value("nothing"), q("x")}, false},
        {"eq integer against text", {Value("eq"), Value("count"), q("5")}, true},
        {"eq uint against text", {Value("eq"), Value("epoch"), q("2")}, true},
        {"eq bool against text", {Value("eq"), Value("flag"), q("true")}, true},
        {"eq two properties", {Value("eq"), Value("_vendor"), Value("_vendor")}, true},
        {"lt integers", {Value("lt"), Value("count"), q(int64_t{6})}, true},
        {"le equal integers", {Value("le"), Value("count"), q(uint32_t{5})}, true},
        {"gt negative", {Value("gt"), Value("negative"), q(int64_t{-4})}, true},
        {"gt huge unsigned", {Value("gt"), Value("huge"), q(int64_t{1})}, true},
        {"lt huge unsigned", {Value("lt"), Value("huge"), q(int64_t{-1})}, false},
        {"ge doubles", {Value("ge"), Value("ratio"), q(0.5)}, true},
        {"lt integer against double", {Value("lt"), Value("count"), q(6.0)}, false},
        {"lt text", {Value("lt"), Value("status"), q("D")}, true},
        {"gt text numeric", {Value("gt"), Value("count"), q("4")}, true},
        {"gt text not numeric", {Value("gt"), Value("count"), q("four")}, false},
        {"lt double text", {Value("lt"), Value("ratio"), q("0.75")}, true},
        {"gt missing", {Value("gt"), Value("nothing"), q(int64_t{1})}, false},
        {"exists present", {Value("exists"), Value("empty")}, true},
        {"exists absent", {Value("exists"), Value("nothing")}, false},
        {"re_match never matches", {Value("re_match"), Value("status"), q(".*")}, false},
        {"and empty", {Value("and")}, true},
        {"or empty", {Value("or")}, false},
        {"not empty", {Value("not")}, true},
        {"and both",
         {Value("and"), List{Value("eq"), Value("_vendor"), q("redhat.com")},
          List{Value("eq"), Value("_product"), q("imagefactory")}},
         true},
        {"and one false",
         {Value("and"), List{Value("eq"), Value("_vendor"), q("redhat.com")},
          List{Value("eq"), Value("_product"), q("qpidd")}},
         false},
        {"or one true", {Value("or"), List{Value("false")}, List{Value("true")}}, true},
        {"not true", {Value("not"), List{Value("true")}}, false},
        {"not all false", {Value("not"), List{Value("false")}, List{Value("false")}}, true},
    };
    for (const auto& c : cases) {
        auto result = evaluatePredicate(c.predicate, kValues);
        ASSERT_TRUE(result.ok()) << c.name << ": " << result.error().message;
        EXPECT_EQ(*result, c.expected) << c.name;
    }
}

TEST(PredicateTest, RejectsMalformed) {
    std::vector<std::pair<std::string, List>> cases = {
        {"operator not text", {Value(int64_t{1})}},
        {"unknown operator", {Value("like"), Value("a"), q("b")}},
        {"eq one operand", {Value("eq"), Value("status")}},
        {"eq three operands", {Value("eq"), Value("status"), q("a"), q("b")}},
        {"exists two operands", {Value("exists"), Value("a"), Value("b")}},
        {"true with operand", {Value("true"), Value("a")}},
        {"operand integer", {Value("eq"), Value(int64_t{1}), q("1")}},
        {"quote without value", {Value("eq"), Value("status"), List{Value("quote")}}},
        {"and with non-list", {Value("and"), Value("status")}},
        {"nested error", {Value("or"), List{Value("true")}, List{Value("bogus")}}},
    };
    for (const auto& [name, predicate] : cases) {
        auto result = evaluatePredicate(predicate, kValues);
        EXPECT_FALSE(result.ok()) << name;
    }
}

TEST(PredicateTest, RejectsNonListValue) {
    EXPECT_FALSE(evaluatePredicate(Value("eq"), kValues).ok());
}

TEST(PredicateTest, RejectsDeepNesting) {
    List predicate{Value("true")};
    for (int i = 0; i < 1000; ++i) {
        predicate = List{Value("not"), predicate};
    }
    auto result = evaluatePredicate(predicate, kValues);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find("deeper"), std::string::npos);
}

TEST(PredicateTest, ErrorNamesUnknownOperator) {
    auto result = evaluatePredicate(List{Value("like")}, kValues);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find("'like'"), std::string::npos);
}

}  // namespace
}  // namespace imagefactory::qmf

#include "qmf/predicate.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace imagefactory::qmf {

namespace {

// An operand after lookup: absent when a named property is missing.
using Operand = std::optional<Value>;

bool isIntegerType(const Value& value) {
    switch (value.type()) {
        case Value::Type::Int32:
        case Value::Type::Int64:
        case Value::Type::UInt32:
        case Value::Type::UInt64:
            return true;
        default:
            return false;
    }
}

std::string doubleText(double number) {
    char buffer[64];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, number);
    return std::string(buffer, result.ptr);
}

// The text form eq and ne compare: text as is, numbers in decimal, booleans as true/false.
// Containers, null and UUIDs have none and compare by value instead.
std::optional<std::string> textForm(const Value& value) {
    if (auto text = value.text()) {
        return text;
    }
    if (const auto* big = value.get<uint64_t>()) {
        return std::to_string(*big);
    }
    if (auto number = value.integer()) {
        return std::to_string(*number);
    }
    if (const auto* number = value.get<double>()) {
        return doubleText(*number);
    }
    if (const auto* flag = value.get<bool>()) {
        return *flag ? "true" : "false";
    }
    return std::nullopt;
}

// A signed or unsigned 64-bit integer without loss: negative values and magnitudes.
struct WideInteger {
    bool negative = false;
    uint64_t magnitude = 0;

    static WideInteger of(const Value& value) {
        if (const auto* big = value.get<uint64_t>()) {
            return {false, *big};
        }
        int64_t number = *value.integer();
        if (number < 0) {
            return {true, static_cast<uint64_t>(-(number + 1)) + 1};
        }
        return {false, static_cast<uint64_t>(number)};
    }

    int compare(const WideInteger& other) const {
        if (negative != other.negative) {
            return negative ? -1 : 1;
        }
        if (magnitude == other.magnitude) {
            return 0;
        }
        bool less = magnitude < other.magnitude;
        // For negative numbers a larger magnitude is the smaller number.
        return (less != negative) ? -1 : 1;
    }
};

std::optional<Value> parseIntegerText(const std::string& text) {
    int64_t number = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error == std::errc() && end == text.data() + text.size() && !text.empty()) {
        return Value(number);
    }
    uint64_t big = 0;
    auto [big_end, big_error] = std::from_chars(text.data(), text.data() + text.size(), big);
    if (big_error == std::errc() && big_end == text.data() + text.size() && !text.empty()) {
        return Value(big);
    }
    return std::nullopt;
}

std::optional<double> parseDoubleText(const std::string& text) {
    double number = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error == std::errc() && end == text.data() + text.size() && !text.empty()) {
        return number;
    }
    return std::nullopt;
}

// Three-way comparison for lt/le/gt/ge, or nullopt when the kinds do not compare.
std::optional<int> orderedCompare(const Value& left, const Value& right) {
    auto three_way = [](auto a, auto b) { return a < b ? -1 : (b < a ? 1 : 0); };

    auto left_text = left.text();
    auto right_text = right.text();
    if (left_text && right_text) {
        return three_way(*left_text, *right_text);
    }
    if (left_text && (isIntegerType(right) || right.get<double>())) {
        // Compare the parsed text as the left operand against the number.
        std::optional<Value> parsed;
        if (isIntegerType(right)) {
            parsed = parseIntegerText(*left_text);
        } else if (auto number = parseDoubleText(*left_text)) {
            parsed = Value(*number);
        }
        if (!parsed) {
            return std::nullopt;
        }
        return orderedCompare(*parsed, right);
    }
    if (right_text) {
        auto reversed = orderedCompare(right, left);
        if (!reversed) {
            return std::nullopt;
        }
        return -*reversed;
    }
    if (isIntegerType(left) && isIntegerType(right)) {
        return WideInteger::of(left).compare(WideInteger::of(right));
    }
    const auto* left_double = left.get<double>();
    const auto* right_double = right.get<double>();
    if (left_double && right_double) {
        if (std::isnan(*left_double) || std::isnan(*right_double)) {
            return std::nullopt;
        }
        return three_way(*left_double, *right_double);
    }
    return std::nullopt;
}

class Evaluator {
  public:
    explicit Evaluator(const Map& values) : values_(values) {}

    Result<bool> evaluate(const List& predicate, size_t depth) {
        if (depth > kMaxPredicateDepth) {
            return userError("predicate nests deeper than " + std::to_string(kMaxPredicateDepth) +
                             " levels");
        }
        if (predicate.empty()) {
            return true;
        }
        auto op = predicate.front().text();
        if (!op) {
            return userError("predicate operator is not text");
        }
        size_t operand_count = predicate.size() - 1;

        if (*op == "and" || *op == "or" || *op == "not") {
            return evaluateLogical(*op, predicate, depth);
        }
        if (*op == "true" || *op == "false") {
            if (operand_count != 0) {
                return countError(*op, 0, operand_count);
            }
            return *op == "true";
        }
        if (*op == "exists") {
            if (operand_count != 1) {
                return countError(*op, 1, operand_count);
            }
            auto operand = resolve(predicate[1]);
            if (!operand) {
                return operand.error();
            }
            return operand->has_value();
        }
        if (*op == "eq" || *op == "ne" || *op == "lt" || *op == "le" || *op == "gt" ||
            *op == "ge" || *op == "re_match") {
            if (operand_count != 2) {
                return countError(*op, 2, operand_count);
            }
            return evaluateComparison(*op, predicate[1], predicate[2]);
        }
        return userError("unknown predicate operator '" + *op + "'");
    }

  private:
    Result<bool> evaluateLogical(const std::string& op, const List& predicate, size_t depth) {
        size_t true_count = 0;
        for (size_t i = 1; i < predicate.size(); ++i) {
            const List* sub = predicate[i].list();
            if (sub == nullptr) {
                return userError("operand " + std::to_string(i) + " of '" + op +
                                 "' is not a predicate list");
            }
            auto result = evaluate(*sub, depth + 1);
            if (!result) {
                return result.error();
            }
            true_count += *result ? 1 : 0;
        }
        size_t operand_count = predicate.size() - 1;
        if (op == "and") {
            return true_count == operand_count;
        }
        if (op == "or") {
            return true_count > 0;
        }
        return true_count == 0;
    }

    Result<bool> evaluateComparison(const std::string& op, const Value& left_token,
                                    const Value& right_token) {
        auto left = resolve(left_token);
        if (!left) {
            return left.error();
        }
        auto right = resolve(right_token);
        if (!right) {
            return right.error();
        }
        if (!left->has_value() || !right->has_value()) {
            return false;
        }
        // Regular expressions from remote input are not evaluated: std::regex recurses per
        // character and can exhaust the stack, and the reference library never matches either.
        if (op == "re_match") {
            return false;
        }
        if (op == "eq" || op == "ne") {
            auto left_text = textForm(**left);
            auto right_text = textForm(**right);
            bool equal = (left_text && right_text) ? *left_text == *right_text : **left == **right;
            return op == "eq" ? equal : !equal;
        }
        auto order = orderedCompare(**left, **right);
        if (!order) {
            return false;
        }
        if (op == "lt") {
            return *order < 0;
        }
        if (op == "le") {
            return *order <= 0;
        }
        if (op == "gt") {
            return *order > 0;
        }
        return *order >= 0;
    }

    // A property name yields its value (or nothing when missing); [quote, value] the value.
    Result<Operand> resolve(const Value& token) {
        if (auto name = token.text()) {
            auto it = values_.find(*name);
            if (it == values_.end()) {
                return Operand();
            }
            return Operand(it->second);
        }
        const List* quoted = token.list();
        if (quoted != nullptr && quoted->size() == 2 && quoted->front().text() == "quote") {
            return Operand((*quoted)[1]);
        }
        return userError("predicate operand is neither a property name nor [quote, value]");
    }

    static Error countError(const std::string& op, size_t expected, size_t actual) {
        return userError("predicate operator '" + op + "' takes " + std::to_string(expected) +
                         " operands, got " + std::to_string(actual));
    }

    const Map& values_;
};

}  // namespace

Result<bool> evaluatePredicate(const List& predicate, const Map& values) {
    return Evaluator(values).evaluate(predicate, 0);
}

Result<bool> evaluatePredicate(const Value& predicate, const Map& values) {
    const List* list = predicate.list();
    if (list == nullptr) {
        return userError("predicate is not a list");
    }
    return evaluatePredicate(*list, values);
}

}  // namespace imagefactory::qmf

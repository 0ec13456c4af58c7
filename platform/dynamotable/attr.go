package dynamotable

import (
	"errors"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// S is the string attribute value v.
func S(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// N is the number attribute value v.
func N(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// ConditionFailed says whether err is a single-item write's failed ConditionExpression
// (ConditionalCheckFailedException), the adapters' signal of a lost race or a
// duplicate rather than an outage.
func ConditionFailed(err error) bool {
	_, failed := FailedItem(err)
	return failed
}

// FailedItem is ConditionFailed that also returns the item the condition failed on,
// which a request with ReturnValuesOnConditionCheckFailure ALL_OLD gets back instead
// of reading it again. The item is nil when there was none, or when the server
// ignores that option (some local implementations): callers then read it themselves.
func FailedItem(err error) (item map[string]types.AttributeValue, failed bool) {
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return nil, false
	}
	return ccf.Item, true
}

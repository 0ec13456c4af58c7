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
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

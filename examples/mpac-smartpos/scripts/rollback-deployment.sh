#!/bin/bash
# rollback-deployment.sh, copied as it is from the pipeline spec (section
# "Deployment Automation"). It is the spec's text, not a working script: it
# reads its options positionally although the workflow passes --flags, and it
# uses rollback-to-blue.json and scripts/send-alert.sh, which do not exist.
# slipway replaces it with its own deploy commands later; until then it is
# kept unchanged for reference.
set -e

CLUSTER=$1
SERVICES=$2

echo "ROLLBACK: Reverting to blue environment..."

# Shift all traffic back to blue
aws route53 change-resource-record-sets \
  --hosted-zone-id $HOSTED_ZONE_ID \
  --change-batch file://rollback-to-blue.json

echo "Traffic shifted back to blue environment."

# Scale down green environment
for SERVICE in ${SERVICES//,/ }; do
  echo "Scaling down $SERVICE green environment..."
  aws ecs update-service \
    --cluster $CLUSTER \
    --service ${SERVICE}-green \
    --desired-count 0
done

echo "Rollback completed. System restored to previous version."

# Send alert
./scripts/send-alert.sh \
  --message "ROLLBACK: Production deployment rolled back to blue environment" \
  --severity critical

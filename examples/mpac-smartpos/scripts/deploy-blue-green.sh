#!/bin/bash
# deploy-blue-green.sh, copied as it is from the pipeline spec (section
# "Deployment Automation"). It is the spec's text, not a working script: it
# reads its options positionally although the workflow passes --flags, and it
# calls shift_traffic, scripts/smoke-tests.sh and
# infra/ecs/task-definitions/*-prod.json, none of which exist. slipway
# replaces it with its own deploy commands later; until then it is kept
# unchanged for reference.
set -e

IMAGE_TAG=$1
CLUSTER=$2
SERVICES=$3

echo "Starting blue-green deployment..."
echo "Image tag: $IMAGE_TAG"
echo "Cluster: $CLUSTER"
echo "Services: $SERVICES"

# 1. Create green task definitions
for SERVICE in ${SERVICES//,/ }; do
  echo "Creating green task definition for $SERVICE..."
  aws ecs register-task-definition \
    --cli-input-json file://infra/ecs/task-definitions/${SERVICE}-prod.json \
    --family ${SERVICE}-green \
    --container-definitions "[{
      \"name\": \"${SERVICE}\",
      \"image\": \"${ECR_REGISTRY}/${SERVICE}:${IMAGE_TAG}\"
    }]"
done

# 2. Create green target groups
for SERVICE in ${SERVICES//,/ }; do
  echo "Creating green target group for $SERVICE..."
  aws elbv2 create-target-group \
    --name ${SERVICE}-green-tg \
    --protocol HTTP \
    --port 8002 \
    --vpc-id $VPC_ID \
    --health-check-path /health
done

# 3. Deploy to green environment
for SERVICE in ${SERVICES//,/ }; do
  echo "Deploying $SERVICE to green environment..."
  aws ecs update-service \
    --cluster $CLUSTER \
    --service ${SERVICE}-green \
    --task-definition ${SERVICE}-green:latest \
    --force-new-deployment
done

# 4. Wait for green to be healthy
echo "Waiting for green environment to be healthy..."
aws ecs wait services-stable --cluster $CLUSTER --services ${SERVICES//,/-green }

# 5. Run smoke tests on green
echo "Running smoke tests on green environment..."
./scripts/smoke-tests.sh --target green

# 6. Shift traffic gradually
echo "Shifting traffic to green..."
shift_traffic 5   # 5% to green
sleep 900         # Monitor for 15 minutes
shift_traffic 50  # 50% to green
sleep 1800        # Monitor for 30 minutes
shift_traffic 100 # 100% to green
sleep 3600        # Monitor for 1 hour

# 7. Decommission blue
echo "Decommissioning blue environment..."
for SERVICE in ${SERVICES//,/ }; do
  aws ecs update-service \
    --cluster $CLUSTER \
    --service ${SERVICE}-blue \
    --desired-count 0
done

echo "Blue-green deployment completed successfully!"

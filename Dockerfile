# lifecycle-guard: build with `docker build -t REGISTRY/lifecycle-guard:TAG .`
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY src src
COPY scripts/build.mjs scripts/
RUN npm run build

# dist/ bundles every package it uses (scripts/build.mjs): the image needs no node_modules.
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/dist dist
COPY package.json ./
COPY policies policies
COPY docs/rules docs/rules
# Non-root (distroless "nonroot" uid), matching the Deployment's securityContext.
USER 65532:65532
EXPOSE 8443
# Exec form: node is PID 1 and receives SIGTERM itself, as lifecycle-guard asks of every workload.
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["serve"]

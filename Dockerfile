# Runnel in a container: one node, Kafka protocol on port 9092, data in the /var/lib/runnel volume.
#
#   docker build -t runnel .
#   docker run -p 9092:9092 runnel
#   docker run -p 19092:9092 runnel --override advertised.listeners=PLAINTEXT://localhost:19092 \
#       --override log.dirs=/var/lib/runnel --override listeners=PLAINTEXT://0.0.0.0:9092
#
# Arguments replace the default ones below entirely, so repeat listeners and log.dirs when giving your
# own, or set configuration through RUNNEL_<KEY> environment variables (RUNNEL_NUM_PARTITIONS=6),
# which rank below --override. The advertised address must be one the clients can reach: with
# `-p HOSTPORT:9092`, that is the host's name and HOSTPORT.

# ---- build: the shaded JAR ------------------------------------------------------------------------
FROM maven:3-eclipse-temurin-17 AS build
WORKDIR /src
# Dependencies first, in their own layer, so a source change does not download them again.
COPY pom.xml .
RUN mvn -B -q dependency:go-offline
COPY src ./src
# Not offline: go-offline misses some plugin dependencies resolved only at run time.
RUN mvn -B -q package -DskipTests

# ---- run: a JRE, the JAR, the start script and the default configuration -------------------------
FROM eclipse-temurin:17-jre
RUN groupadd --system runnel \
    && useradd --system --gid runnel --home-dir /opt/runnel --no-create-home runnel \
    && mkdir -p /var/lib/runnel \
    && chown runnel:runnel /var/lib/runnel
WORKDIR /opt/runnel
COPY --from=build /src/target/runnel.jar /opt/runnel/runnel.jar
COPY scripts/runnel.sh /opt/runnel/bin/runnel.sh
COPY conf/runnel.properties /opt/runnel/conf/runnel.properties
COPY conf/jvm.options /opt/runnel/conf/jvm.options
# runnel.sh sets the heap and class-data sharing, runs from /opt/runnel (so conf/ is found)
# and execs java, so the JVM is PID 1 and gets docker stop's SIGTERM directly.
ENV RUNNEL_JAR=/opt/runnel/runnel.jar \
    RUNNEL_HEAP_OPTS="-Xms1g -Xmx1g"
USER runnel
VOLUME /var/lib/runnel
EXPOSE 9092
ENTRYPOINT ["/opt/runnel/bin/runnel.sh"]
# Inside the container the listener binds every interface (the default is loopback only, which a
# published port cannot reach); clients outside are told localhost:9092.
CMD ["--override", "listeners=PLAINTEXT://0.0.0.0:9092", \
     "--override", "advertised.listeners=PLAINTEXT://localhost:9092", \
     "--override", "log.dirs=/var/lib/runnel"]

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;

/**
 * Creates (or changes) a SCRAM user with the Admin API, the AlterUserScramCredentials request that
 * {@code kafka-configs.sh --entity-type users --alter --add-config 'SCRAM-SHA-256=[password=...]'} sends. Run as a
 * single-file program on the fat JAR's classpath (it holds kafka-clients), for secure.sh:
 *
 * <pre>java -cp target/runnel.jar src/test/compat/ScramUser.java BOOTSTRAP MECHANISM USER PASSWORD</pre>
 */
public class ScramUser {
    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: ScramUser BOOTSTRAP SCRAM-SHA-256|SCRAM-SHA-512 USER PASSWORD");
            System.exit(2);
        }
        ScramMechanism mechanism = ScramMechanism.fromMechanismName(args[1]);
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0],
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000))) {
            admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(args[2],
                    new ScramCredentialInfo(mechanism, 8192), args[3]))).all().get(60, TimeUnit.SECONDS);
        }
        System.out.println("ScramUser: " + args[1] + " credential of " + args[2] + " stored");
    }
}

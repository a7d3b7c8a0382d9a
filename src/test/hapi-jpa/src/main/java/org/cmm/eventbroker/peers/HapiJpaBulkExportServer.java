package org.cmm.eventbroker.peers;

import java.util.Properties;

import javax.sql.DataSource;

import ca.uhn.fhir.batch2.api.IJobMaintenanceService;
import ca.uhn.fhir.batch2.jobs.config.Batch2JobsConfig;
import ca.uhn.fhir.batch2.jobs.export.BulkDataExportProvider;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.config.ThreadPoolFactoryConfig;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.batch2.JpaBatch2Config;
import ca.uhn.fhir.jpa.binary.api.IBinaryStorageSvc;
import ca.uhn.fhir.jpa.binstore.MemoryBinaryStorageSvcImpl;
import ca.uhn.fhir.jpa.config.HapiJpaConfig;
import ca.uhn.fhir.jpa.config.r4.JpaR4Config;
import ca.uhn.fhir.jpa.config.util.HapiEntityManagerFactoryUtil;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.dialect.HapiFhirH2Dialect;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.jpa.subscription.channel.config.SubscriptionChannelConfig;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import jakarta.persistence.EntityManagerFactory;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.h2.jdbcx.JdbcConnectionPool;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;

/**
 * HAPI FHIR's JPA server (R4, in-memory H2) with its own bulk export ({@code $export} at system, Patient and Group
 * level, declared in its CapabilityStatement), at {@code http://127.0.0.1:<port>/fhir}: the FHIR server hospitals run,
 * as a peer of the runtime's extraction through the server's {@code $export}. Batch2's maintenance pass, which moves
 * an export from step to step, runs every 500 ms here instead of HAPI's default minute. Prints {@code STARTED} when it
 * answers. Started by {@code HapiJpaPeer} for {@code HapiJpaServerBulkExportIT}, or by hand (docs/bulk-data.md).
 */
public final class HapiJpaBulkExportServer {

    private HapiJpaBulkExportServer() {
    }

    /** The JPA server's Spring configuration: HAPI's own configurations plus what an application supplies. */
    @Configuration
    @Import({JpaR4Config.class, HapiJpaConfig.class, JpaBatch2Config.class, Batch2JobsConfig.class,
            SubscriptionChannelConfig.class, ThreadPoolFactoryConfig.class})
    public static class JpaServerConfig {

        @Bean
        public DataSource dataSource() {
            return JdbcConnectionPool.create("jdbc:h2:mem:hapi-jpa;DB_CLOSE_DELAY=-1", "sa", "");
        }

        @Bean
        public LocalContainerEntityManagerFactoryBean entityManagerFactory(ConfigurableListableBeanFactory factory,
                FhirContext fhir, JpaStorageSettings settings) {
            LocalContainerEntityManagerFactoryBean entityManagers =
                    HapiEntityManagerFactoryUtil.newEntityManagerFactory(factory, fhir, settings);
            entityManagers.setPersistenceUnitName("HAPI_PU");
            entityManagers.setDataSource(dataSource());
            Properties jpa = new Properties();
            jpa.put("hibernate.dialect", HapiFhirH2Dialect.class.getName());
            jpa.put("hibernate.hbm2ddl.auto", "update");
            jpa.put("hibernate.search.enabled", "false");
            entityManagers.setJpaProperties(jpa);
            return entityManagers;
        }

        @Bean
        public JpaStorageSettings storageSettings() {
            JpaStorageSettings settings = new JpaStorageSettings();
            settings.setEnableTaskBulkExportJobExecution(true);
            return settings;
        }

        @Bean
        public PartitionSettings partitionSettings() {
            return new PartitionSettings();
        }

        @Bean
        @Primary
        public JpaTransactionManager transactionManager(EntityManagerFactory entityManagers) {
            return new JpaTransactionManager(entityManagers);
        }

        /** Where the export's NDJSON files (Binary resources) are kept. */
        @Bean
        public IBinaryStorageSvc binaryStorage() {
            return new MemoryBinaryStorageSvcImpl();
        }
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args.length > 0 ? args[0] : "8095");
        long started = System.nanoTime();
        AnnotationConfigApplicationContext spring = new AnnotationConfigApplicationContext(JpaServerConfig.class);
        RestfulServer fhir = new RestfulServer(spring.getBean(FhirContext.class)) {
            @Override
            protected void initialize() {
                registerProviders(spring.getBean("myResourceProvidersR4", ResourceProviderFactory.class).createProviders());
                registerProvider(spring.getBean("mySystemProviderR4"));
                registerProvider(spring.getBean(BulkDataExportProvider.class));
                setPagingProvider(spring.getBean(DatabaseBackedPagingProvider.class));
                setServerConformanceProvider(new JpaCapabilityStatementProvider(this,
                        (IFhirSystemDao<?, ?>) spring.getBean("mySystemDaoR4"), spring.getBean(JpaStorageSettings.class),
                        spring.getBean(ISearchParamRegistry.class), spring.getBean(IValidationSupport.class)));
            }
        };
        Server jetty = new Server(port);
        ServletContextHandler context = new ServletContextHandler();
        ServletHolder servlet = new ServletHolder(fhir);
        servlet.setInitOrder(1); // initialised at start, so STARTED means it answers
        context.addServlet(servlet, "/fhir/*");
        jetty.setHandler(context);
        jetty.start();
        IJobMaintenanceService maintenance = spring.getBean(IJobMaintenanceService.class);
        Thread pass = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(500);
                    maintenance.runMaintenancePass();
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    System.err.println("Batch2 maintenance pass failed: " + e);
                }
            }
        }, "batch2-maintenance");
        pass.setDaemon(true);
        pass.start();
        System.out.printf("STARTED http://127.0.0.1:%d/fhir in %d ms%n", port, (System.nanoTime() - started) / 1_000_000);
        jetty.join();
    }
}

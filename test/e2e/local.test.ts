import { environmentLifecycle, prepareImages } from "./lifecycle";

beforeAll(() => prepareImages());

describe("local environment on this machine's Docker engine", () => {
  environmentLifecycle({ env: "e2elocal", host: (httpPort) => ({ kind: "local", httpPort }) });
});

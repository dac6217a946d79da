// udf.fahrenheit, for the udf-threshold workload.
function toFahrenheit(celsius) {
  return celsius * 9 / 5 + 32;
}

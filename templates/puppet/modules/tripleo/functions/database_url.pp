# A service's SQLAlchemy URL for MariaDB through PyMySQL, unless a full `given` URL overrides it.
function tripleo::database_url(
  Optional[String] $given,
  String $user,
  String $password,
  String $host,
  String $database,
) >> String {
  $given ? {
    undef   => "mysql+pymysql://${user}:${password}@${host}/${database}",
    default => $given,
  }
}
